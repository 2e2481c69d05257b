import { TypedEventEmitter } from '@libp2p/interface'
import type { Connection, IdentifyResult, Libp2p, PeerId, PeerInfo } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdStringOf } from '../config/index.js'
import { AbortedError, PeerUnreachableError } from '../errors.js'
import { raceSignal } from '../util/race-signal.js'
import { parseAddrs, withPeerId, withoutPeerId } from './addresses.js'
import { rhythmDay } from './rhythm.js'
import type { TrustEntry, TrustList } from './trust-list.js'

/**
 * Presence keeps this node connected to its trusted peers (and to the configured bootstrap nodes) and
 * knows which are online. For each peer that is not connected it dials the last known addresses; if
 * that fails it asks the DHT for the peer's current addresses (peerRouting.findPeer, bypassing the
 * local cache) and, at the same time when `locate` is given, the trusted peers it is connected to
 * (locate-service.ts: a trust-only DHT may end a lookup short of the peer's group, while a friend the
 * peer reconnected to knows its address), and dials what the first of them answers; if that fails too it
 * tries again later, the delay doubling from
 * reconnect.minMs up to reconnect.maxMs (with +-20% jitter). A discovery (mDNS, DHT) of a trusted peer
 * retries at once. It records lastSeen and the addresses peers announce (identify) in the trust list,
 * and emits 'peer:online' / 'peer:offline' for trusted peers.
 *
 * reach() is the same attempt on demand, awaited: an operation that needs a peer now (a restore needing
 * its shards) calls it when a dial fails, instead of waiting for the backoff.
 *
 * start()/stop() are idempotent; stop() aborts the dials in flight, clears every timer and resolves
 * once nothing of the service is left running.
 */
export type PresenceNode = Pick<Libp2p, 'dial' | 'getConnections' | 'peerRouting' | 'peerStore' | 'addEventListener' | 'removeEventListener'>

export interface PresenceInit {
  node: PresenceNode
  trust: TrustList
  /** Backoff bounds (config.reconnect). */
  reconnect: { minMs: number, maxMs: number }
  /** Bootstrap multiaddrs (each with /p2p/), kept connected for routing. */
  bootstrap?: string[]
  /** Fall back to DHT peer routing when known addresses fail (default true; false when the node has no DHT). */
  dht?: boolean
  /** Per dial (default 10 s). */
  dialTimeoutMs?: number
  /** Per DHT lookup (default 10 s). A lookup waits while the DHT has no peer at all, up to this. */
  findPeerTimeoutMs?: number
  /**
   * Asks connected trusted peers where a peer is (LocateService.locate), side by side with the DHT. Every
   * connected peer is asked, so the retries ask less often than they dial: after a locate that found
   * nothing, the next one waits locateBackoff (default from reconnect.maxMs / 5, doubling up to
   * 12 x reconnect.maxMs: 1 minute to 1 hour by default). reach() (an operation that needs the peer now)
   * always asks.
   */
  locate?: (peer: PeerId, options: { signal: AbortSignal }) => Promise<Multiaddr[]>
  locateBackoff?: { minMs: number, maxMs: number }
  /** Jitter source, for tests. */
  random?: () => number
  /** The clock of the peers' rhythm (watched absences), for tests (default Date.now). */
  now?: () => number
}

/**
 * How a peer came online: we dialled a known address, we found it through the DHT, a connected peer told
 * us where it is (locate), or it came to us.
 */
export type OnlineVia = 'dial' | 'dht' | 'locate' | 'inbound'

export interface PresenceEvents {
  'peer:online': CustomEvent<{ peerId: PeerId, via: OnlineVia }>
  'peer:offline': CustomEvent<{ peerId: PeerId }>
}

export interface PeerPresence {
  peerId: string
  kind: 'trusted' | 'bootstrap'
  online: boolean
  /** Consecutive failed attempts. */
  failures: number
  /** When the next attempt is due (ms since the epoch), if one is scheduled. */
  nextAttemptAt?: number
  /** How it came online, while online. */
  via?: OnlineVia
}

export const DEFAULT_DIAL_TIMEOUT_MS = 10_000
export const DEFAULT_FIND_PEER_TIMEOUT_MS = 10_000

/** Delay before the next attempt after `failures` consecutive failures (0 = the first retry). */
export function backoffDelay (failures: number, reconnect: { minMs: number, maxMs: number }, random: () => number = Math.random): number {
  const base = Math.min(reconnect.maxMs, reconnect.minMs * 2 ** Math.min(failures, 30))
  return Math.round(Math.min(reconnect.maxMs, base * (0.8 + 0.4 * random())))
}

interface Target {
  id: PeerId
  kind: 'trusted' | 'bootstrap'
  addrs: Multiaddr[]
  online: boolean
  via?: OnlineVia
  failures: number
  /** Locates that found nothing in a row, and when the periodic attempts may locate again. */
  locateFailures?: number
  nextLocateAt?: number
  timer?: ReturnType<typeof setTimeout>
  nextAttemptAt?: number
  attempt?: Promise<void>
  /** While offline: since when this node has watched its absence without a break (its rhythm, rhythm.ts). */
  watchedSince?: number
  /** While offline: what this node watched of the absence before its own last break (Rhythm.carriedMs). */
  carriedMs?: number
}

/** How often presence notes that it is running; a longer gap (the machine slept) is time nobody watched. */
export const WATCH_BEAT_MS = 60_000
const WATCH_GAP_MS = 3 * WATCH_BEAT_MS

export class Presence extends TypedEventEmitter<PresenceEvents> {
  private readonly init: PresenceInit
  private readonly targets = new Map<string, Target>()
  private readonly pending = new Set<Promise<unknown>>()
  private controller = new AbortController()
  private running = false
  private readonly clock: () => number
  private beatTimer?: ReturnType<typeof setInterval>
  private lastBeat = 0
  private watchedDay?: number
  /** No peer is overdue before this (ms since the epoch): after a start or a break, peers reconnect first. */
  private settleUntil = 0
  /** The last time a trusted peer was online: a node cut off from them all watches nothing after it. */
  private lastContact = 0
  /** No trusted peer online since the start or since a cut-off was found: the watch starts again at the first. */
  private contactLost = true
  private readonly settleMs: number

  constructor (init: PresenceInit) {
    super()
    this.init = init
    this.clock = init.now ?? Date.now
    this.settleMs = init.reconnect.maxMs + (init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS) + (init.findPeerTimeoutMs ?? DEFAULT_FIND_PEER_TIMEOUT_MS)
  }

  isStarted (): boolean { return this.running }

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    this.lastBeat = this.clock()
    this.lastContact = 0
    this.contactLost = true
    this.settleUntil = this.lastBeat + this.settleMs
    this.beatTimer = setInterval(() => { this.beat() }, WATCH_BEAT_MS)
    this.beatTimer.unref?.()
    const { node, trust } = this.init
    node.addEventListener('connection:open', this.onConnectionOpen)
    node.addEventListener('peer:disconnect', this.onDisconnect)
    node.addEventListener('peer:identify', this.onIdentify)
    node.addEventListener('peer:discovery', this.onDiscovery)
    trust.addEventListener('peer:added', this.onAdded)
    trust.addEventListener('peer:revoked', this.onRevoked)
    for (const addr of this.init.bootstrap ?? []) {
      const id = peerIdStringOf(multiaddr(addr))
      if (id == null || trust.isTrusted(id)) continue
      const t = this.targets.get(id)
      if (t != null) t.addrs.push(multiaddr(addr))
      else this.targets.set(id, { id: peerIdFromString(id), kind: 'bootstrap', addrs: [multiaddr(addr)], online: false, failures: 0 })
    }
    for (const entry of trust.list()) await this.addTrusted(entry)
    this.watchedDay = undefined
    this.beat()
    for (const t of this.targets.values()) this.check(t)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    // a stop right after this machine resumed: the time it slept is not counted as watched; nor is the
    // time since this node last had a trusted peer online
    this.beat()
    const now = this.clock()
    const cutOff = !this.trusted().some(t => t.online)
    this.stopWatching(cutOff ? Math.min(now, this.lastContact) : now)
    this.running = false
    this.controller.abort()
    clearInterval(this.beatTimer)
    this.beatTimer = undefined
    const { node, trust } = this.init
    node.removeEventListener('connection:open', this.onConnectionOpen)
    node.removeEventListener('peer:disconnect', this.onDisconnect)
    node.removeEventListener('peer:identify', this.onIdentify)
    node.removeEventListener('peer:discovery', this.onDiscovery)
    trust.removeEventListener('peer:added', this.onAdded)
    trust.removeEventListener('peer:revoked', this.onRevoked)
    for (const t of this.targets.values()) clearTimeout(t.timer)
    await Promise.allSettled([...this.pending])
    this.targets.clear()
  }

  isOnline (peer: PeerId | string): boolean {
    return this.targets.get(String(peer))?.online === true
  }

  /**
   * How long this node has watched a trusted peer's current absence (ms): since it last saw the peer
   * online, the time it ran, was awake and reached at least one trusted peer (its own breaks are not
   * counted, what it watched before and after them is); undefined while the peer is online or unknown, and
   * for a while after this node started or came back (every peer is given the time to reconnect first).
   * Pack health holds only watched absence against a peer (audit/health.ts, overdue), and the peer's
   * usual absence it is held to is measured the same way (rhythm.ts).
   */
  watchedAbsence (peer: PeerId | string): number | undefined {
    this.beat()
    const t = this.targets.get(String(peer))
    if (t == null || t.online || t.kind !== 'trusted' || t.watchedSince == null) return undefined
    const now = this.clock()
    return now < this.settleUntil ? undefined : (t.carriedMs ?? 0) + Math.max(0, now - t.watchedSince)
  }

  /**
   * This node stops watching at `until` (it stops, slept, or is cut off): what it watched of each absence
   * still going on is carried in the peer's rhythm until it sees the peer again, and it watches again from
   * `restart`, if given.
   */
  private stopWatching (until: number, restart?: number): void {
    const watched = new Map<string, number>()
    for (const t of this.targets.values()) {
      if (t.kind !== 'trusted' || t.online || t.watchedSince == null) continue
      if (until > t.watchedSince) {
        watched.set(t.id.toString(), until - t.watchedSince)
        t.carriedMs = (t.carriedMs ?? 0) + until - t.watchedSince
      }
      t.watchedSince = restart
    }
    if (watched.size > 0) this.track(this.init.trust.carryAbsences(watched))
  }

  /**
   * Notes that this node runs. Time it did not watch is left out of every absent peer's count: a gap since
   * the last note (the machine was suspended, or the clock jumped), or the time since it last had a
   * trusted peer online (its own network is down, or it cannot tell). Then every peer gets `settleMs` to
   * reconnect.
   */
  private beat (): void {
    if (!this.running) return
    const now = this.clock()
    const trusted = this.trusted()
    const online = trusted.filter(t => t.online)
    // (not while peers are still reconnecting after a start or a break)
    const cutOff = now >= this.settleUntil && trusted.length > 0 && online.length === 0
    const gap = now - this.lastBeat > WATCH_GAP_MS || now < this.lastBeat
    if (gap || cutOff) {
      this.stopWatching(gap ? Math.min(this.lastBeat, now) : this.lastContact, now)
      this.settleUntil = Math.max(this.settleUntil, now + this.settleMs)
      if (cutOff) this.contactLost = true
    }
    if (!gap && online.length > 0) this.lastContact = now
    this.lastBeat = now
    // each day this node runs, the peers it sees online count a day in their rhythm
    const day = rhythmDay(now)
    if (day !== this.watchedDay) {
      this.watchedDay = day
      this.track(this.init.trust.noteSeen(online.map(t => t.id.toString()), now))
    }
  }

  private trusted (): Target[] {
    return [...this.targets.values()].filter(t => t.kind === 'trusted')
  }

  status (peer: PeerId | string): PeerPresence | undefined {
    const t = this.targets.get(String(peer))
    return t == null ? undefined : view(t)
  }

  list (): PeerPresence[] {
    return [...this.targets.values()].map(view)
  }

  /** Tries a peer now instead of waiting for its backoff. */
  retryNow (peer: PeerId | string): void {
    const t = this.targets.get(String(peer))
    if (t == null || t.online || !this.running) return
    t.failures = 0
    this.schedule(t, 0)
  }

  /**
   * Connects to a trusted peer now if it is not connected: waits for an attempt (known addresses, then
   * the DHT) that started after this call, sharing one with other callers. An attempt already under way
   * is awaited first, and a new one made if it fails (it may have begun before the peer could be found).
   * PeerUnreachableError if the peer is still not connected, or at once if it is no trusted peer;
   * AbortedError if the signal fires first (the attempt itself goes on). Callers that ask often for a
   * peer that is gone should remember the failure for a while (reachingDialer does).
   */
  async reach (peer: PeerId | string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const id = String(peer)
    const t = this.targets.get(id)
    if (!this.running || t == null || t.kind !== 'trusted') throw new PeerUnreachableError(`peer ${id} is not a trusted peer of this node`)
    const connected = (): boolean => this.init.node.getConnections(t.id).length > 0
    const wait = async (attempt: Promise<void>): Promise<void> => {
      await raceSignal(attempt, options.signal, (reason) => new AbortedError('operation aborted', { cause: reason }))
    }
    if (connected()) return
    if (t.attempt != null) {
      await wait(t.attempt)
      if (connected()) return
    }
    if (!this.running) throw new PeerUnreachableError(`peer ${id} is unreachable: presence is stopped`)
    if (t.attempt == null) {
      clearTimeout(t.timer)
      t.timer = undefined
      t.nextAttemptAt = undefined
      t.attempt = this.track(this.attempt(t, true)).finally(() => { t.attempt = undefined })
    }
    await wait(t.attempt)
    if (connected()) return
    const also = [...(this.init.dht !== false ? ['not found through the DHT'] : []), ...(this.init.locate != null ? ['unknown to the connected peers'] : [])]
    throw new PeerUnreachableError(`peer ${id} is unreachable: not at its known addresses${also.map(a => `, ${a}`).join('')}`)
  }

  private async addTrusted (entry: TrustEntry): Promise<void> {
    // a recovery kit's reader is never looked for: it comes to us, for the length of a recovery
    if (entry.role === 'kit') return
    const id = peerIdFromString(entry.peerId)
    const existing = this.targets.get(entry.peerId)
    const t: Target = existing ?? { id, kind: 'trusted', addrs: [], online: false, failures: 0 }
    t.kind = 'trusted'
    // absent until seen: watched from now on, after what earlier runs watched of the same absence (as the
    // entry says: a peer paired again starts a new record)
    if (!t.online) {
      t.watchedSince ??= this.clock()
      t.carriedMs = entry.rhythm?.carriedMs
    }
    this.targets.set(entry.peerId, t)
    const addrs = parseAddrs(entry.addresses).map((a) => withoutPeerId(a))
    if (addrs.length > 0) {
      try { await this.init.node.peerStore.merge(id, { multiaddrs: addrs }) } catch {}
    }
  }

  /** Online if connected, otherwise an attempt now. */
  private check (t: Target): void {
    const conns = this.init.node.getConnections(t.id)
    if (conns.length > 0) this.markOnline(t, conns.some((c) => c.direction === 'inbound') ? 'inbound' : 'dial')
    else this.schedule(t, 0)
  }

  private schedule (t: Target, delay: number): void {
    if (!this.running) return
    clearTimeout(t.timer)
    t.nextAttemptAt = Date.now() + delay
    t.timer = setTimeout(() => {
      t.timer = undefined
      t.nextAttemptAt = undefined
      if (!this.running || t.online || t.attempt != null || this.targets.get(t.id.toString()) !== t) return
      t.attempt = this.track(this.attempt(t)).finally(() => { t.attempt = undefined })
    }, delay)
  }

  private async attempt (t: Target, onDemand = false): Promise<void> {
    const { node } = this.init
    const stop = this.controller.signal
    const dialTimeout = this.init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
    const dialTo = async (target: PeerId | Multiaddr[]): Promise<boolean> => {
      try {
        await node.dial(target, { signal: AbortSignal.any([stop, AbortSignal.timeout(dialTimeout)]) })
        return true
      } catch {
        return false
      }
    }
    if (await dialTo(t.kind === 'bootstrap' ? t.addrs : t.id)) {
      this.markOnline(t, 'dial')
      return
    }
    if (stop.aborted) return
    if (t.kind === 'trusted') {
      // the DHT and the connected peers are asked side by side; the first whose addresses answer wins and
      // the other lookup is dropped
      const lookupTimeout = this.init.findPeerTimeoutMs ?? DEFAULT_FIND_PEER_TIMEOUT_MS
      const won = new AbortController()
      const signal = AbortSignal.any([stop, won.signal, AbortSignal.timeout(lookupTimeout)])
      const via = async (how: OnlineVia, lookup: () => Promise<Multiaddr[]>): Promise<OnlineVia> => {
        const addrs = await lookup()
        if (addrs.length === 0 || signal.aborted) throw new PeerUnreachableError(`${how}: no address`)
        try { await node.peerStore.merge(t.id, { multiaddrs: addrs.map((a) => withoutPeerId(a)) }) } catch {}
        if (!await dialTo(addrs.map((a) => withPeerId(a, t.id)))) throw new PeerUnreachableError(`${how}: no answer`)
        return how
      }
      const lookups: Array<Promise<OnlineVia>> = []
      if (this.init.dht !== false) lookups.push(via('dht', async () => (await node.peerRouting.findPeer(t.id, { signal, useCache: false })).multiaddrs))
      const locate = this.init.locate
      if (locate != null && (onDemand || Date.now() >= (t.nextLocateAt ?? 0))) {
        lookups.push(via('locate', async () => await locate(t.id, { signal })).catch((err: unknown) => {
          const { minMs, maxMs } = this.init.locateBackoff ?? { minMs: this.init.reconnect.maxMs / 5, maxMs: 12 * this.init.reconnect.maxMs }
          t.locateFailures = (t.locateFailures ?? 0) + 1
          t.nextLocateAt = Date.now() + backoffDelay(t.locateFailures - 1, { minMs, maxMs }, this.init.random)
          throw err
        }))
      }
      if (lookups.length > 0) {
        try {
          const how = await Promise.any(lookups)
          won.abort()
          this.markOnline(t, how)
          return
        } catch {}
      }
    }
    if (stop.aborted || t.online) return
    this.schedule(t, backoffDelay(t.failures, this.init.reconnect, this.init.random))
    t.failures++
  }

  private markOnline (t: Target, via: OnlineVia): void {
    if (t.online || !this.running) return
    // first: time this node slept is not counted in this peer's absence either
    if (t.kind === 'trusted') this.beat()
    t.online = true
    t.via = via
    t.failures = 0
    t.locateFailures = 0
    t.nextLocateAt = undefined
    clearTimeout(t.timer)
    t.timer = undefined
    t.nextAttemptAt = undefined
    if (t.kind !== 'trusted') return
    // back from an absence this node watched (before and after its own breaks): its length goes into the
    // peer's rhythm
    const now = this.clock()
    this.lastContact = now
    if (this.contactLost) {
      // the first peer online after a start or a cut-off: the others are watched from now, not from then
      this.contactLost = false
      for (const o of this.targets.values()) if (o !== t && o.kind === 'trusted' && !o.online && o.watchedSince != null) o.watchedSince = Math.max(o.watchedSince, now)
    }
    const absentMs = t.watchedSince != null || t.carriedMs != null ? (t.carriedMs ?? 0) + Math.max(0, now - (t.watchedSince ?? now)) : undefined
    t.watchedSince = undefined
    t.carriedMs = undefined
    this.track(this.init.trust.updateLastSeen(t.id, new Date(now), absentMs))
    this.safeDispatchEvent('peer:online', { detail: { peerId: t.id, via } })
  }

  private markOffline (t: Target): void {
    if (!t.online || !this.running) return
    t.online = false
    t.via = undefined
    if (t.kind === 'trusted') {
      t.watchedSince = this.clock()
      this.lastContact = t.watchedSince
      this.track(this.init.trust.updateLastSeen(t.id, new Date(t.watchedSince)))
      this.safeDispatchEvent('peer:offline', { detail: { peerId: t.id } })
    }
    // not at once: a peer that just dropped us would otherwise be redialled in a tight loop
    this.schedule(t, backoffDelay(0, this.init.reconnect, this.init.random))
  }

  private track<T>(p: Promise<T>): Promise<T> {
    const guarded = p.catch(() => undefined as T)
    this.pending.add(guarded)
    void guarded.finally(() => this.pending.delete(guarded))
    return guarded
  }

  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const t = this.targets.get(evt.detail.remotePeer.toString())
    if (t == null) return
    // an outbound connection opened by our own attempt is reported by the attempt (dial or dht)
    if (evt.detail.direction === 'outbound' && t.attempt != null) return
    this.markOnline(t, evt.detail.direction === 'inbound' ? 'inbound' : 'dial')
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const t = this.targets.get(evt.detail.toString())
    if (t == null || this.init.node.getConnections(evt.detail).length > 0) return
    this.markOffline(t)
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const { peerId, listenAddrs } = evt.detail
    if (this.targets.get(peerId.toString())?.kind !== 'trusted' || listenAddrs.length === 0) return
    this.track(this.init.trust.updateAddresses(peerId, listenAddrs.map((a) => withoutPeerId(a))))
  }

  private readonly onDiscovery = (evt: CustomEvent<PeerInfo>): void => {
    const t = this.targets.get(evt.detail.id.toString())
    if (t == null || t.kind !== 'trusted' || t.online) return
    const addrs = evt.detail.multiaddrs.map((a) => withoutPeerId(a))
    this.track((async () => {
      if (addrs.length > 0) await this.init.node.peerStore.merge(t.id, { multiaddrs: addrs })
      if (t.attempt == null) { t.failures = 0; this.schedule(t, 0) }
    })())
  }

  private readonly onAdded = (evt: CustomEvent<TrustEntry>): void => {
    this.track((async () => {
      await this.addTrusted(evt.detail)
      const t = this.targets.get(evt.detail.peerId)
      if (t != null && this.running) this.check(t)
    })())
  }

  private readonly onRevoked = (evt: CustomEvent<TrustEntry>): void => {
    const t = this.targets.get(evt.detail.peerId)
    if (t == null) return
    clearTimeout(t.timer)
    this.targets.delete(evt.detail.peerId)
  }
}

function view (t: Target): PeerPresence {
  const p: PeerPresence = { peerId: t.id.toString(), kind: t.kind, online: t.online, failures: t.failures }
  if (t.nextAttemptAt != null) p.nextAttemptAt = t.nextAttemptAt
  if (t.via != null) p.via = t.via
  return p
}
