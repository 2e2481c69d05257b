import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AbortedError, ProtocolError } from '../errors.js'
import { parseAddrs, withoutPeerId } from './addresses.js'
import type { TrustGate } from './gater.js'
import { answerOnce, requestOnce } from './one-exchange.js'

/**
 * /holdfast/locate/1.0.0: "where is peer P now?", asked of the trusted peers this node is connected to,
 * when P is not at its known addresses and the DHT did not find it either.
 *
 * Why: the Holdfast DHT is made of trusted peers only, so a lookup walks this node's trust graph towards
 * P's key and may end among peers that know nothing of P (measured at 1000 nodes by `npm run sim:dht`:
 * 15 moved peers in 100 not found). P's friends are mostly this node's friends too, and the one P
 * reconnected to after it moved knows its new addresses (identify). Asking them directly finds P in one
 * round trip.
 *
 *   {t:'locate', peer}  ->  {t:'addrs', addrs: [multiaddr text, ...]}   (at most MAX_LOCATE_ADDRS)
 *
 * A node answers only a trusted asker, only about a member (trusted or infrastructure peer: the DHT
 * already gives members' addresses to trusted askers, so this reveals nothing more), and only while it
 * is connected to that member; otherwise the answer is an empty list. It answers with the addresses the
 * member announced only when identify completed on a connection still open (or one already open when the
 * service started): a connection whose identify failed leaves the member's old addresses in the peer
 * store, and the asker takes the first answer that has any. The scale study (`npm run sim:dht`) saw
 * identify fail on 12 of the 51 connections a moved peer opened on a loaded machine; libp2p runs it once
 * per connection, so this service asks again on a member's connection where it did not complete
 * (`identify`, after `identifyAgainMs`, twice at most).
 * Answers are bounded and parsed; an address that does not parse is dropped. Nothing a peer answers is
 * trusted beyond a hint: the caller dials the addresses, and the Noise handshake proves the peer's id.
 */
export const LOCATE_PROTOCOL = '/holdfast/locate/1.0.0'
export const MAX_LOCATE_MESSAGE = 8 * 1024
export const MAX_LOCATE_ADDRS = 16
const MAX_ADDR_CHARS = 256

export type LocateRequest = { t: 'locate', peer: string }
export type LocateAnswer = { t: 'addrs', addrs: string[] }

function fail (what: string): never { throw new ProtocolError(`locate protocol: ${what}`) }

function isMap (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v != null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

export function parseLocateRequest (v: unknown): LocateRequest {
  if (!isMap(v) || v.t !== 'locate' || Object.keys(v).length !== 2) fail('expected {t: "locate", peer}')
  if (typeof v.peer !== 'string' || v.peer.length > 128) fail('peer: expected a peer id')
  try { peerIdFromString(v.peer) } catch { fail('peer: not a peer id') }
  return { t: 'locate', peer: v.peer }
}

export function parseLocateAnswer (v: unknown): LocateAnswer {
  if (!isMap(v) || v.t !== 'addrs' || Object.keys(v).length !== 2) fail('expected {t: "addrs", addrs}')
  if (!Array.isArray(v.addrs) || v.addrs.length > MAX_LOCATE_ADDRS) fail(`addrs: expected a list of at most ${MAX_LOCATE_ADDRS}`)
  const addrs = v.addrs.filter((a): a is string => typeof a === 'string' && a.length <= MAX_ADDR_CHARS)
  return { t: 'addrs', addrs }
}

export interface LocateServiceInit {
  node: Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'peerStore' | 'addEventListener' | 'removeEventListener'>
  gate: TrustGate
  /** Per peer asked, and per answer given (default 5 s). */
  timeoutMs?: number
  /** Peers asked at once (default 8). */
  concurrency?: number
  onError?: (err: unknown, what: string) => void
  /** libp2p's identify service: run again on a member's connection where it did not complete. */
  identify?: { identify: (connection: Connection, options?: { signal?: AbortSignal }) => Promise<unknown> }
  /** How long after a connection opens (and then twice as long) identify is asked again (default 10 s). */
  identifyAgainMs?: number
}

/** Times identify is asked again on one connection. */
export const IDENTIFY_AGAIN_TRIES = 2
export const DEFAULT_IDENTIFY_AGAIN_MS = 10_000

export class LocateService {
  private running = false
  private shutdown = new AbortController()
  private readonly inflight = new Set<Promise<unknown>>()
  /** Connections on which identify completed. */
  private readonly identified = new Set<string>()
  /** Member connections opened since the start where it has not yet: the timer of the next try. */
  private readonly pending = new Map<string, ReturnType<typeof setTimeout>>()
  private startedAt = 0

  constructor (private readonly init: LocateServiceInit) {}

  isStarted (): boolean { return this.running }

  async start (): Promise<void> {
    if (this.running) return
    this.shutdown = new AbortController()
    this.startedAt = Date.now()
    this.init.node.addEventListener('connection:open', this.onOpen)
    this.init.node.addEventListener('connection:close', this.onClose)
    this.init.node.addEventListener('peer:identify', this.onIdentify)
    await this.init.node.handle(LOCATE_PROTOCOL, (stream, connection) => { this.track(this.answer(stream, connection)) }, { maxInboundStreams: 8, runOnLimitedConnection: true })
    this.running = true
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.shutdown.abort(new AbortedError('the locate service is stopping'))
    this.init.node.removeEventListener('connection:open', this.onOpen)
    this.init.node.removeEventListener('connection:close', this.onClose)
    this.init.node.removeEventListener('peer:identify', this.onIdentify)
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
    this.identified.clear()
    await this.init.node.unhandle(LOCATE_PROTOCOL).catch(() => {})
    await Promise.allSettled([...this.inflight])
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const c = evt.detail
    if (this.identified.has(c.id) || !this.init.gate.isMember(c.remotePeer)) return
    this.later(c, 0)
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    this.identified.delete(evt.detail.id)
    this.forget(evt.detail.id)
  }

  private readonly onIdentify = (evt: CustomEvent<{ connection: Connection }>): void => {
    const c = evt.detail.connection
    if (c.status !== 'open') return
    this.identified.add(c.id)
    this.forget(c.id)
  }

  private forget (connection: string): void {
    clearTimeout(this.pending.get(connection))
    this.pending.delete(connection)
  }

  /** Identify asked again on `c` after a while, unless it completes meanwhile or the connection closes. */
  private later (c: Connection, tries: number): void {
    const identify = this.init.identify
    if (identify == null || tries >= IDENTIFY_AGAIN_TRIES) { this.pending.delete(c.id); return }
    const delay = (this.init.identifyAgainMs ?? DEFAULT_IDENTIFY_AGAIN_MS) * 2 ** tries
    if (!Number.isFinite(delay)) return
    const timer = setTimeout(() => {
      if (!this.running || c.status !== 'open' || this.identified.has(c.id)) { this.pending.delete(c.id); return }
      // a success is seen by onIdentify (identify dispatches peer:identify); a failure tries once more later
      this.track(identify.identify(c, { signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.init.timeoutMs ?? 5_000)]) })
        .catch(() => { if (this.running && !this.identified.has(c.id)) this.later(c, tries + 1) }))
    }, delay)
    timer.unref?.()
    this.pending.set(c.id, timer)
  }

  /**
   * Asks the connected trusted peers (but the target) where `peer` is, 8 at a time, and returns the
   * addresses of the first answer that has any (without /p2p/); the questions still out are dropped.
   * Peers that fail or do not answer in time are skipped: an empty list means nobody connected knows.
   * AbortedError if the signal fires first.
   */
  async locate (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<Multiaddr[]> {
    if (!this.running) return []
    const target = peer.toString()
    const asked = new Set<string>()
    const peers: PeerId[] = []
    for (const c of this.init.node.getConnections()) {
      const id = c.remotePeer.toString()
      if (id === target || asked.has(id) || !this.init.gate.isTrusted(id)) continue
      asked.add(id)
      peers.push(c.remotePeer)
    }
    const done = new AbortController()
    const signal = AbortSignal.any([this.shutdown.signal, done.signal, ...(options.signal != null ? [options.signal] : [])])
    const timeout = this.init.timeoutMs ?? 5_000
    let found: Multiaddr[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < peers.length && !signal.aborted) {
        const p = peers[next++]
        try {
          const answer = parseLocateAnswer(await requestOnce(this.init.node, p, LOCATE_PROTOCOL, MAX_LOCATE_MESSAGE, { t: 'locate', peer: target }, AbortSignal.any([signal, AbortSignal.timeout(timeout)])))
          const addrs = new Map<string, Multiaddr>()
          for (const a of parseAddrs(answer.addrs)) {
            const bare = withoutPeerId(a)
            addrs.set(bare.toString(), bare)
          }
          if (addrs.size > 0 && found.length === 0) {
            found = [...addrs.values()]
            done.abort()
          }
        } catch {}
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.init.concurrency ?? 8, peers.length) }, worker))
    if (found.length === 0 && options.signal?.aborted === true) throw new AbortedError('operation aborted', { cause: options.signal.reason })
    return found
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString()
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.init.timeoutMs ?? 5_000)])
    try {
      await answerOnce(stream, LOCATE_PROTOCOL, MAX_LOCATE_MESSAGE, signal, async message => {
        const request = parseLocateRequest(message)
        return { t: 'addrs', addrs: this.init.gate.isTrusted(remote) ? await this.addressesOf(request.peer) : [] } satisfies LocateAnswer
      })
    } catch (err) {
      if (!signal.aborted) this.init.onError?.(err, `locate request from ${remote}`)
    }
  }

  /**
   * What this node knows of a member it is connected to: the addresses it announced (when identify
   * completed on an open connection, or one open before this service started), and the one we reached it at.
   */
  private async addressesOf (peer: string): Promise<string[]> {
    if (!this.init.gate.isMember(peer) || peer === this.init.node.peerId.toString()) return []
    const id = peerIdFromString(peer)
    const conns = this.init.node.getConnections(id)
    if (conns.length === 0) return []
    const addrs = new Map<string, string>()
    const add = (a: Multiaddr): void => {
      const text = withoutPeerId(a).toString()
      if (text.length <= MAX_ADDR_CHARS && addrs.size < MAX_LOCATE_ADDRS) addrs.set(text, text)
    }
    // identify not completed on any connection (yet): the peer store may hold where the member was before
    const announced = conns.some(c => this.identified.has(c.id) || c.timeline.open < this.startedAt)
    if (announced) {
      try {
        for (const a of (await this.init.node.peerStore.get(id)).addresses) add(a.multiaddr)
      } catch {}
    }
    // an inbound connection's remote address is where the peer dials from, not where it listens: only an
    // outbound one's (we dialled it there) is known to reach it
    for (const c of conns) if (c.direction === 'outbound') add(c.remoteAddr)
    return [...addrs.values()]
  }

  private track (p: Promise<unknown>): void {
    const guarded = p.catch(() => {})
    this.inflight.add(guarded)
    void guarded.finally(() => this.inflight.delete(guarded))
  }
}
