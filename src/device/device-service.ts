import { join } from 'node:path'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { AbortedError, PeerNotTrustedError, ProtocolError, RoleError } from '../errors.js'
import type { TrustGate } from '../node/gater.js'
import { JsonFile } from '../node/json-file.js'
import type { TrustEntry, TrustList } from '../node/trust-list.js'
import type { RequestOp } from '../protocol/messages.js'
import type { ObjectKind } from '../store/shard-store.js'
import { DEVICE_PROTOCOL, MAX_DEVICE_MESSAGE, parseDeviceAnswer, parseDeviceRequest, type DeviceAnswer, type DeviceBundle, type DeviceRequest } from './device-messages.js'
import { answerOnce, requestOnce } from '../node/one-exchange.js'
import { RetryBackoff } from '../util/retry-backoff.js'

/**
 * /holdfast/device/1.0.0 on every node, for its three parts:
 * - as an owner: answers a device of its own (a trust entry made by `device link`, deviceOf = this node)
 *   with the bundle it needs to read the repository; tells each of its hosts which devices may read its
 *   objects (`tellHosts`, after a link and whenever a host comes online that was not told yet; what each
 *   host was told is kept in HOME/device-grants.json);
 * - as a device: fetches that bundle from its owner (`fetchBundle`);
 * - as a host: records the devices an owner names (a trust entry with deviceOf = that owner, no quota),
 *   and lets them read that owner's objects, nothing else (`authorize`, for the shard service).
 * Trusted peers only; one request and one answer per stream, each bounded.
 */
export interface DeviceServiceInit {
  node: Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol'>
  home: string
  trust: TrustList
  gate: TrustGate
  /** The bundle for one of this node's devices (owner side). */
  bundle: (device: TrustEntry, signal: AbortSignal) => Promise<DeviceBundle>
  /** Told of failures that no caller sees (a host that could not be told). */
  onError?: (err: unknown, what: string) => void
  timeoutMs?: number
}

/** A failed tell is tried again after 5 s, 10 s, 20 s, ... this many times. */
const RETRY_ATTEMPTS = 6
const RETRY_BASE_MS = 5_000

/** What a device may ask of a host about its owner's objects. */
const READ_OPS = new Set<RequestOp>(['get', 'has', 'list'])

export class DeviceService {
  private running = false
  private shutdown = new AbortController()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly told: JsonFile
  private toldState?: Record<string, string[]>
  private telling?: Promise<void>
  private readonly timeoutMs: number
  /** hosts whose tell failed, tried again later (owner side) */
  private readonly retries = new RetryBackoff({
    attempts: RETRY_ATTEMPTS,
    baseMs: RETRY_BASE_MS,
    retry: () => { if (this.running) void this.tellHosts().catch(err => this.init.onError?.(err, 'telling hosts of the devices')) }
  })

  constructor (private readonly init: DeviceServiceInit) {
    this.told = new JsonFile(join(init.home, 'device-grants.json'))
    this.timeoutMs = init.timeoutMs ?? 30_000
  }

  async start (): Promise<void> {
    if (this.running) return
    this.shutdown = new AbortController()
    const doc = await this.told.read() as { told?: Record<string, string[]> } | undefined
    this.toldState = doc?.told ?? {}
    await this.init.node.handle(DEVICE_PROTOCOL, (stream, connection) => { this.track(this.answer(stream, connection)) }, { maxInboundStreams: 4, runOnLimitedConnection: true })
    this.running = true
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.retries.cancel()
    this.shutdown.abort(new AbortedError('the device service is stopping'))
    await this.init.node.unhandle(DEVICE_PROTOCOL).catch(() => {})
    await Promise.allSettled([...this.inflight])
    await this.told.flush()
  }

  /** This node's own devices (owner side). */
  devices (): TrustEntry[] {
    const self = this.init.node.peerId.toString()
    return this.init.trust.list().filter(e => e.deviceOf === self)
  }

  /** The hosts told of a device so far (owner side). */
  hostsTold (device: string): number {
    return (this.state()[device] ?? []).length
  }

  /**
   * Host side, for the shard service: may `asker` run `op` on `owner`'s objects? Only a device that owner
   * named: reads with the read role, anything with the write role. Throws PeerNotTrustedError or RoleError otherwise.
   */
  authorize (asker: string, owner: string, op: RequestOp, kind?: ObjectKind): void {
    const e = this.init.trust.get(asker)
    if (e == null || e.revoked === true || e.deviceOf !== owner || !this.init.trust.isTrusted(owner)) throw new PeerNotTrustedError(`peer ${asker} is no device of ${owner} on this host`)
    if (e.role !== 'write' && !READ_OPS.has(op)) throw new RoleError(`a device with read access may not ${op} its owner's objects`)
    // the recovery kit's reader: the owner's key objects (the kit escrow among them), nothing else
    if (e.role === 'kit' && kind !== 'key') throw new RoleError('a recovery kit reads its owner\'s key objects only')
  }

  /** Device side: what the owner gives its device to read the repository. */
  async fetchBundle (owner: PeerId, options: { signal?: AbortSignal } = {}): Promise<DeviceBundle> {
    const answer = await this.ask(owner, { t: 'bundle' }, options.signal)
    if (answer.t !== 'bundle') throw new ProtocolError('device protocol: the owner answered a bundle request with no bundle')
    return answer
  }

  /**
   * Owner side: tells every host that was not told yet of every device (and of revoked devices, their
   * revocation). Hosts offline now are told when they come online (call again). Resolves when done.
   */
  async tellHosts (): Promise<{ told: number, pending: number }> {
    // one round at a time: two rounds would tell a host twice and race on the state file
    const previous = this.telling ?? Promise.resolve()
    let result = { told: 0, pending: 0 }
    const round = previous.then(async () => { result = await this.tellRound() })
    this.telling = round.catch(() => {})
    await round
    return result
  }

  /** Owner side: revokes a device here and tells the hosts (those offline at their next contact). */
  async revoke (device: string): Promise<TrustEntry> {
    const e = this.init.trust.get(device)
    if (e == null || e.deviceOf !== this.init.node.peerId.toString() || e.role === 'kit') throw new PeerNotTrustedError(`${device} is no device of this node`)
    const revoked = await this.init.trust.revoke(device)
    this.state()[device] = []
    await this.persist()
    void this.tellHosts().catch(err => this.init.onError?.(err, 'telling hosts of a revoked device'))
    return revoked
  }

  private async tellRound (): Promise<{ told: number, pending: number }> {
    const self = this.init.node.peerId.toString()
    const devices = this.init.trust.list({ includeRevoked: true }).filter(e => e.deviceOf === self)
    const hosts = this.init.trust.hosts()
    const state = this.state()
    let told = 0
    let pending = 0
    for (const d of devices) {
      const done = new Set(state[d.peerId] ?? [])
      for (const h of hosts) {
        if (done.has(h.peerId) || h.peerId === d.peerId) continue
        if (!this.running) { pending++; continue }
        try {
          const request: DeviceRequest = d.revoked === true ? { t: 'revoke', device: d.peerId } : { t: 'grant', device: d.peerId, name: d.name.slice(0, 64), role: d.role ?? 'read' }
          const answer = await this.ask(peerIdFromString(h.peerId), request)
          if (answer.t === 'error') throw new PeerNotTrustedError(`host ${h.name} refused: ${answer.message}`)
          done.add(h.peerId)
          this.retries.succeeded(h.peerId)
          told++
        } catch (err) {
          pending++
          const failed = this.retries.failed(h.peerId)
          // a first refusal is usually a pairing still finishing on the other side: it is retried before it is reported
          if (!this.shutdown.signal.aborted && failed > 1) this.init.onError?.(err, `telling host ${h.name} of device ${d.name}`)
        }
      }
      state[d.peerId] = [...done]
    }
    await this.persist()
    // hosts whose tell failed: again after 5 s, doubling, RETRY_ATTEMPTS times; then when they next come online
    if (this.running) this.retries.schedule()
    return { told, pending }
  }

  private state (): Record<string, string[]> {
    this.toldState ??= {}
    return this.toldState
  }

  private async persist (): Promise<void> {
    await this.told.write({ version: 1, told: this.state() })
  }

  private track (p: Promise<unknown>): void {
    this.inflight.add(p)
    void p.finally(() => this.inflight.delete(p))
  }

  private async ask (peer: PeerId, request: DeviceRequest, signal?: AbortSignal): Promise<DeviceAnswer> {
    const s = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs), ...(signal != null ? [signal] : [])])
    const answer = parseDeviceAnswer(await requestOnce(this.init.node, peer, DEVICE_PROTOCOL, MAX_DEVICE_MESSAGE, request, s))
    if (answer.t === 'error' && request.t === 'bundle') throw new PeerNotTrustedError(`the owner refused: ${answer.message}`)
    return answer
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString()
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)])
    try {
      await answerOnce(stream, DEVICE_PROTOCOL, MAX_DEVICE_MESSAGE, signal, async message => {
        const request = parseDeviceRequest(message)
        // refused in words, not logged: an inviter may ask before this node has finished adding it
        if (!this.init.gate.isTrusted(remote)) return { t: 'error', message: 'peer is not trusted' }
        try {
          return await this.serve(remote, request, signal)
        } catch (err) {
          if (err instanceof ProtocolError || signal.aborted) throw err
          return { t: 'error', message: String((err as Error).message).slice(0, 1000) }
        }
      })
    } catch (err) {
      if (stream.status === 'open') stream.abort(err as Error)
      if (!signal.aborted) this.init.onError?.(err, `device request from ${remote}`)
    }
  }

  private async serve (remote: string, request: DeviceRequest, signal: AbortSignal): Promise<DeviceAnswer> {
    const self = this.init.node.peerId.toString()
    const asker = this.init.trust.get(remote)!
    if (request.t === 'bundle') {
      if (asker.deviceOf !== self || asker.role === 'kit') throw new PeerNotTrustedError('this peer is no device of this node (holdfast device link makes one)')
      return await this.init.bundle(asker, signal)
    }
    // an owner naming its devices: the asker must be a host's peer in its own right
    if (asker.deviceOf != null) throw new PeerNotTrustedError('a device cannot name devices')
    if (request.device === remote || request.device === self) throw new PeerNotTrustedError('not a device of that peer')
    const existing = this.init.trust.get(request.device)
    if (request.t === 'revoke') {
      if (existing?.deviceOf === remote && existing.revoked !== true) await this.init.trust.revoke(request.device)
      return { t: 'ok' }
    }
    if (existing != null && existing.revoked !== true && existing.deviceOf == null) throw new PeerNotTrustedError('that device is paired with this host in its own right')
    if (existing != null && existing.deviceOf != null && existing.deviceOf !== remote) throw new PeerNotTrustedError('that device belongs to another owner here')
    if (existing?.deviceOf === remote && existing.revoked !== true && existing.role === request.role) return { t: 'ok' }
    await this.init.trust.add({ peerId: request.device, name: `${asker.name}/${request.name}`.slice(0, 64), site: asker.site, quotaGranted: 0, quotaReceived: 0, deviceOf: remote, role: request.role })
    return { t: 'ok' }
  }
}
