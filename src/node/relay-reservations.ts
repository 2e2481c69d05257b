import type { Connection, IdentifyResult, Libp2pEvents, Listener, PeerId, PeerStore, Startable, Transport, TypedEventTarget } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdOfRef } from '../config/index.js'
import { AbortedError, RelayUnavailableError } from '../errors.js'
import { deadline } from '../util/deadline.js'
import { raceSignal } from '../util/race-signal.js'
import { backoffDelay } from './presence.js'

/**
 * Relay reservations (config relay.reserve): keeps a circuit-relay v2 reservation on each configured
 * relay, so that peers that cannot dial this node directly (it is behind a NAT, it listens nowhere)
 * reach it at /.../p2p/RELAY/p2p-circuit/p2p/SELF. The relays are trusted peers with relay.server on;
 * presence keeps them connected like any trusted peer, and this service acts on their connections:
 *
 * - when a direct connection to a relay is open, identify says it offers relaying and there is no
 *   reservation on it, a reservation is made; its addresses become this node's addresses (identify
 *   pushes them to connected peers, and they go into invites);
 * - when the reservation is lost (the connection closed, a refresh failed) it is made again on the next
 *   connection; a refused or failed attempt is retried with backoff (reconnect.minMs to maxMs).
 *
 * Nothing here searches for relays: libp2p's own search (listening on a bare /p2p-circuit) runs a DHT
 * random walk without pause for as long as it has fewer reservations than it wants, which kept idle
 * nodes busy when no trusted peer was a relay.
 *
 * How it uses libp2p's relay transport: the first reservation on a relay goes through
 * transportManager.listen('/p2p/RELAY/p2p-circuit'), which creates the listener that owns the relay
 * addresses; later ones go through the transport's reservation store ('configured' reservations), whose
 * events that listener follows. A listener whose first reservation fails is useless afterwards, so the
 * first reservation is tried on the store before the listener is made (see reserve()).
 *
 * start()/stop() are idempotent; stop() clears every timer and waits for the attempt in flight.
 */
export const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'

export interface RelayReservationsInit {
  /** relay.reserve: peer ids, or multiaddrs ending in /p2p/<peer id> (their addresses are added to the peer store). */
  relays: string[]
  /** Backoff between failed attempts (config.reconnect). */
  retry: { minMs: number, maxMs: number }
  /** Jitter source, for tests. */
  random?: () => number
}

/** The calls made on the relay transport's reservation store (@libp2p/circuit-relay-v2). */
export interface ReservationStoreLike {
  hasReservation: (peer: PeerId) => boolean
  addRelay: (peer: PeerId, type: 'configured' | 'discovered') => Promise<unknown>
  cancelReservations: () => void
  addEventListener: (type: 'relay:removed', listener: (evt: CustomEvent<{ relay: PeerId }>) => void) => void
  removeEventListener: (type: 'relay:removed', listener: (evt: CustomEvent<{ relay: PeerId }>) => void) => void
}

export interface RelayReservationsComponents {
  transportManager: {
    listen: (addrs: Multiaddr[]) => Promise<void>
    getTransports: () => Transport[]
    getListeners: () => Listener[]
  }
  connectionManager: { getConnections: (peer?: PeerId) => Connection[] }
  addressManager: { getAddresses: () => Multiaddr[] }
  peerStore: Pick<PeerStore, 'get' | 'merge'>
  events: TypedEventTarget<Libp2pEvents>
}

export interface RelayStatus {
  /** The relay's peer id. */
  relay: string
  /** Whether a reservation is held on it now. */
  reserved: boolean
  /** This node's addresses through it. */
  addresses: string[]
  /** Consecutive failed attempts. */
  failures: number
  /** Why the last attempt failed, if it did. */
  lastError?: string
}

interface RelayState {
  id: PeerId
  addrs: Multiaddr[]
  /** A listener follows this relay's reservations. */
  listening: boolean
  failures: number
  /** Immediate retries after a clash with libp2p's own relay discovery (see reserve()). */
  clashes: number
  timer?: ReturnType<typeof setTimeout>
  attempt?: Promise<void>
  lastError?: Error
}

/** Retries at once (well, soon) after this many clashes in a row at most, then with backoff. */
const MAX_CLASHES = 5
const CLASH_RETRY_MS = 100
/**
 * Longest a reservation may take. The relay transport bounds its own steps (5 s each), but a call that
 * joins a job of its reservation queue just as that job ends is never answered (libp2p 3.3), so every
 * call is bounded here too.
 */
export const RESERVE_TIMEOUT_MS = 15_000

export class RelayReservations implements Startable {
  private readonly components: RelayReservationsComponents
  private readonly init: RelayReservationsInit
  private readonly relays = new Map<string, RelayState>()
  private store?: ReservationStoreLike
  private readonly pending = new Set<Promise<void>>()
  private shutdown = new AbortController()
  private running = false

  constructor (components: RelayReservationsComponents, init: RelayReservationsInit) {
    this.components = components
    this.init = init
    for (const ref of init.relays) {
      const id = peerIdOfRef(ref)
      const addrs = ref.startsWith('/') ? [multiaddr(ref)] : []
      this.relays.set(id, { id: peerIdFromString(id), addrs, listening: false, failures: 0, clashes: 0 })
    }
  }

  readonly [Symbol.toStringTag] = 'holdfast:relay-reservations'

  isStarted (): boolean { return this.running }

  start (): void {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
  }

  /** The relay transport is started by now: find its reservation store, then try every relay. */
  async afterStart (): Promise<void> {
    if (!this.running) return
    this.store = findReservationStore(this.components.transportManager.getTransports())
    this.store?.addEventListener('relay:removed', this.onRelayRemoved)
    for (const r of this.relays.values()) {
      if (r.addrs.length === 0) continue
      try { await this.components.peerStore.merge(r.id, { multiaddrs: r.addrs.map((a) => a.decapsulateCode(P2P)) }) } catch {}
    }
    for (const r of this.relays.values()) this.check(r)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.shutdown.abort(new AbortedError('relay reservations stopped'))
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.store?.removeEventListener('relay:removed', this.onRelayRemoved)
    for (const r of this.relays.values()) { clearTimeout(r.timer); r.timer = undefined }
    await Promise.allSettled([...this.pending])
    // the node's listeners close with it: a restarted node makes new ones
    for (const r of this.relays.values()) r.listening = false
    this.store = undefined
  }

  /** Each configured relay: reserved or not, this node's addresses through it, the last failure. */
  status (): RelayStatus[] {
    const own = this.components.addressManager.getAddresses().map(String)
    return [...this.relays.values()].map((r) => {
      const s: RelayStatus = {
        relay: r.id.toString(),
        reserved: this.store?.hasReservation(r.id) === true,
        addresses: own.filter((a) => a.includes(`/p2p/${r.id.toString()}/p2p-circuit`)),
        failures: r.failures
      }
      if (r.lastError != null) s.lastError = r.lastError.message
      return s
    })
  }

  /** Makes a reservation now if one is due and possible (a direct connection to the relay is open). */
  private check (r: RelayState): void {
    if (!this.running || r.attempt != null) return
    clearTimeout(r.timer)
    r.timer = undefined
    if (this.store == null) {
      r.lastError = new RelayUnavailableError('this node has no relay transport (relay.client is off)')
      return
    }
    if (this.store.hasReservation(r.id)) return
    const direct = this.components.connectionManager.getConnections(r.id)
      .some((c) => c.status === 'open' && c.limits == null && !isCircuit(c.remoteAddr))
    // no connection: presence dials the relay (a trusted peer); its 'connection:open' brings us back
    if (!direct) return
    const attempt = this.reserve(r, this.store).finally(() => {
      r.attempt = undefined
      this.pending.delete(attempt)
    })
    r.attempt = attempt
    this.pending.add(attempt)
  }

  private async reserve (r: RelayState, store: ReservationStoreLike): Promise<void> {
    try {
      const protocols: string[] = await this.components.peerStore.get(r.id).then((p) => p.protocols, () => [])
      // identify has not told the relay's protocols yet: its 'peer:identify' brings us back
      if (protocols.length === 0) return
      if (!protocols.includes(RELAY_HOP_PROTOCOL)) {
        // a reservation attempt now would mark the peer as no relay until this node restarts
        throw new RelayUnavailableError(`peer ${r.id.toString()} does not offer relaying (is relay.server on there?)`)
      }
      const bounded = async (p: Promise<unknown>): Promise<void> => {
        const limit = deadline(RESERVE_TIMEOUT_MS, this.shutdown.signal)
        try { await raceSignal(p, limit.signal) } finally { limit.clear() }
      }
      if (r.listening) {
        // the listener made for this relay picks up the new reservation and its addresses
        await bounded(store.addRelay(r.id, 'configured'))
      } else {
        // The listener's own first reservation must not fail (the listener would be useless), so try
        // one on the store first. The listener then makes its own only if the store holds none: drop
        // the store's bookkeeping (cancelReservations, for every relay: the others are made again at
        // once below; their listeners keep their addresses meanwhile, the relays their reservations).
        await bounded(store.addRelay(r.id, 'configured'))
        if (!this.running) return
        store.cancelReservations()
        await bounded(this.components.transportManager.listen([multiaddr(`/p2p/${r.id.toString()}/p2p-circuit`)]))
        r.listening = true
        for (const other of this.relays.values()) if (other !== r) this.check(other)
      }
      r.failures = 0
      r.clashes = 0
      r.lastError = undefined
    } catch (err) {
      r.lastError = err instanceof Error ? err : new Error(String(err))
      if (!this.running) return
      // libp2p's relay discovery queues a 'discovered' reservation for any relay that connects, and
      // refuses it (HadEnoughRelaysError) since this node searches for none; an attempt of ours made
      // while that one is queued gets the same answer: try again shortly
      if (r.lastError.name === 'HadEnoughRelaysError' && r.clashes < MAX_CLASHES) {
        r.clashes++
        this.schedule(r, CLASH_RETRY_MS)
        return
      }
      r.clashes = 0
      this.schedule(r, backoffDelay(r.failures, this.init.retry, this.init.random))
      r.failures++
    }
  }

  private schedule (r: RelayState, delay: number): void {
    if (!this.running) return
    clearTimeout(r.timer)
    r.timer = setTimeout(() => {
      r.timer = undefined
      this.check(r)
    }, delay)
  }

  // Not check() at once: the relay transport queues its own ('discovered', refused) reservation job on
  // the same events, and a call made while that job ends is never answered (see RESERVE_TIMEOUT_MS);
  // on the next turn of the event loop it has ended.
  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => {
    const r = this.relays.get(evt.detail.remotePeer.toString())
    if (r != null && r.attempt == null) this.schedule(r, 0)
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const r = this.relays.get(evt.detail.peerId.toString())
    if (r != null && r.attempt == null) this.schedule(r, 0)
  }

  private readonly onRelayRemoved = (evt: CustomEvent<{ relay: PeerId }>): void => {
    const r = this.relays.get(evt.detail.relay.toString())
    // still connected (a refresh failed): try again after the first backoff step; otherwise the next
    // connection brings us back
    if (r != null) this.schedule(r, backoffDelay(0, this.init.retry, this.init.random))
  }
}

/** The multiaddr code of /p2p/. */
const P2P = 421
/** The multiaddr code of /p2p-circuit. */
const P2P_CIRCUIT = 290

function isCircuit (addr: Multiaddr): boolean {
  return addr.getComponents().some((c) => c.code === P2P_CIRCUIT)
}

/** The circuit-relay transport's reservation store, if the node has that transport. */
export function findReservationStore (transports: Transport[]): ReservationStoreLike | undefined {
  for (const t of transports) {
    const store = (t as unknown as { reservationStore?: Partial<ReservationStoreLike> }).reservationStore
    if (store != null && typeof store.addRelay === 'function' && typeof store.hasReservation === 'function' &&
      typeof store.cancelReservations === 'function' && typeof store.addEventListener === 'function') {
      return store as ReservationStoreLike
    }
  }
  return undefined
}

/** The service factory, for createLibp2p's `services`. */
export function relayReservations (init: RelayReservationsInit): (components: RelayReservationsComponents) => RelayReservations {
  return (components) => new RelayReservations(components, init)
}
