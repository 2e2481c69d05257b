import type { Connection, Libp2pEvents, PeerId, Startable, StreamHandler, StreamHandlerOptions, StreamHandlerRecord, TypedEventTarget } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { TrustGate } from './gater.js'
import type { TrustEntry, TrustListEvents } from './trust-list.js'
import type { TypedEventEmitter } from '@libp2p/interface'

/**
 * The libp2p service that enforces, on open connections, what the connection gater admitted at the
 * door (see gater.ts for the reasoning):
 *
 * - every protocol handler registered when the node starts (identify, ping, DHT, relay, AutoNAT,
 *   DCUtR...) except the exempt ones (pairing, ping) is wrapped so that it serves trusted and infrastructure
 *   peers only; anyone else's stream is reset;
 * - a connection from a peer that is neither (admitted for a pairing) is closed after
 *   `provisionalMs` unless the peer has become trusted by then;
 * - when a peer is revoked, its open connections are closed.
 */
export interface TrustGuardInit {
  gate: TrustGate
  /** Emits 'peer:revoked' (the TrustList). */
  trust: TypedEventEmitter<TrustListEvents>
  /** Protocols left unwrapped: the pairing protocol, which strangers must be able to use, and ping. */
  exempt?: string[]
  /** How long a provisional connection may stay open (default 60 s). */
  provisionalMs?: number
}

/** The registrar calls the guard uses (a subset of libp2p's internal Registrar). */
export interface HandlerRegistry {
  getProtocols: () => string[]
  getHandler: (protocol: string) => StreamHandlerRecord
  handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
}

export interface TrustGuardComponents {
  registrar: HandlerRegistry
  events: TypedEventTarget<Libp2pEvents>
  connectionManager: {
    getConnections: (peerId?: PeerId) => Connection[]
    closeConnections: (peer: PeerId) => Promise<void>
  }
}

export const DEFAULT_PROVISIONAL_MS = 60_000

export class TrustGuard implements Startable {
  readonly gate: TrustGate
  private readonly components: TrustGuardComponents
  private readonly trust: TypedEventEmitter<TrustListEvents>
  private readonly exempt: Set<string>
  private readonly provisionalMs: number
  private readonly wrapped = new WeakSet<StreamHandler>()
  private readonly timers = new Map<Connection, ReturnType<typeof setTimeout>>()
  private running = false

  constructor (components: TrustGuardComponents, init: TrustGuardInit) {
    this.components = components
    this.gate = init.gate
    this.trust = init.trust
    this.exempt = new Set(init.exempt ?? [])
    this.provisionalMs = init.provisionalMs ?? DEFAULT_PROVISIONAL_MS
  }

  readonly [Symbol.toStringTag] = 'holdfast:trust-guard'

  isStarted (): boolean { return this.running }

  start (): void {
    if (this.running) return
    this.running = true
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
    this.trust.addEventListener('peer:revoked', this.onRevoked)
  }

  /** Every service has registered its handlers by now: wrap them. */
  async afterStart (): Promise<void> {
    await this.guardHandlers()
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    this.trust.removeEventListener('peer:revoked', this.onRevoked)
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  /** Wraps every registered, non-exempt handler not wrapped yet (also callable after late registrations). */
  async guardHandlers (): Promise<void> {
    const { registrar } = this.components
    for (const protocol of registrar.getProtocols()) {
      if (this.exempt.has(protocol)) continue
      const record = registrar.getHandler(protocol)
      if (this.wrapped.has(record.handler)) continue
      const inner = record.handler
      const gate = this.gate
      const guarded: StreamHandler = async (stream, connection) => {
        if (!gate.isMember(connection.remotePeer)) {
          stream.abort(new Error(`${protocol} is served to trusted peers only`))
          return
        }
        await inner(stream, connection)
      }
      this.wrapped.add(guarded)
      await registrar.handle(protocol, guarded, { ...record.options, force: true })
    }
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    if (this.gate.isMember(conn.remotePeer)) return
    const timer = setTimeout(() => {
      this.timers.delete(conn)
      if (!this.gate.isMember(conn.remotePeer)) conn.abort(new Error('provisional connection expired'))
    }, this.provisionalMs)
    this.timers.set(conn, timer)
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const timer = this.timers.get(evt.detail)
    if (timer != null) { clearTimeout(timer); this.timers.delete(evt.detail) }
  }

  private readonly onRevoked = (evt: CustomEvent<TrustEntry>): void => {
    let peer: PeerId
    try { peer = peerIdFromString(evt.detail.peerId) } catch { return }
    this.components.connectionManager.closeConnections(peer).catch(() => {})
  }
}

/** The service factory, for createLibp2p's `services`. */
export function trustGuard (init: TrustGuardInit): (components: TrustGuardComponents) => TrustGuard {
  return (components) => new TrustGuard(components, init)
}
