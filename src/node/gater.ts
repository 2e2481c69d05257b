import type { ConnectionGater, PeerId, StreamHandler } from '@libp2p/interface'

/**
 * Who may connect to this node, and what they may do once connected.
 *
 * Holdfast is a network of friends: a node talks only to the peers on its trust list. Three other
 * kinds of peer are let in, each for a narrow purpose:
 *
 * - Infrastructure peers (the configured bootstrap nodes) may connect and use libp2p's own protocols
 *   (identify, ping, the private DHT, relay), never Holdfast's: isTrusted() is false for them.
 *
 * - The inviter, seen from the accepting side. Whoever accepts an invite learns the inviter's peer id
 *   from the code, so the pairing service allows exactly that peer, for the length of one handshake
 *   (allowPeer), before dialling it.
 *
 * - Unknown peers, seen from the inviting side. The inviter cannot know the acceptor's peer id in
 *   advance: the code is handed over out of band and the acceptor might even create its identity after
 *   receiving it. So while the pairing service holds an invite that can still be answered (see
 *   setInviteWindow) inbound connections from unknown peers are admitted. Such a connection is
 *   provisional: it may use the pairing protocol and ping only (libp2p's connection monitor pings every
 *   connection and aborts those that do not answer). The trust guard (trust-guard.ts) wraps every
 *   handler registered when the node starts (identify, ping, DHT, relay, AutoNAT...) so that it serves
 *   trusted and infrastructure peers only, and closes provisional connections after a short while;
 *   Holdfast's own protocol handlers check isTrusted() themselves (or are wrapped with trustedHandler).
 *   Outside an invite window unknown peers are refused during the connection upgrade, before any
 *   protocol is negotiated.
 *
 * Revoked peers are simply not trusted: refused at the next connection attempt, and the trust guard
 * closes their open connections when the revocation happens.
 */
export interface TrustGateInit {
  /** The trust list, or anything that can say whether a peer is trusted. */
  trust: { isTrusted: (peer: PeerId | string) => boolean }
  /** Peers admitted for routing only (bootstrap nodes). */
  infrastructure?: Iterable<PeerId | string>
  /** Clock, for tests. */
  now?: () => number
}

export class TrustGate {
  private readonly trust: TrustGateInit['trust']
  private readonly infrastructure: Set<string>
  private readonly now: () => number
  private readonly allowances = new Map<string, Map<number, number>>()
  private grantCounter = 0
  private inviteWindow: () => boolean = () => false

  constructor (init: TrustGateInit) {
    this.trust = init.trust
    this.infrastructure = new Set([...(init.infrastructure ?? [])].map(String))
    this.now = init.now ?? Date.now
  }

  /** Trusted: on the trust list and not revoked. The check for every Holdfast protocol. */
  isTrusted (peer: PeerId | string): boolean {
    return this.trust.isTrusted(String(peer))
  }

  /** May use libp2p's own protocols (identify, ping, DHT, relay): trusted or infrastructure peers. */
  isMember (peer: PeerId | string): boolean {
    return this.isTrusted(peer) || this.infrastructure.has(String(peer))
  }

  /** Whether a pairing allowance for this peer is currently in force. */
  isAllowedForPairing (peer: PeerId | string): boolean {
    const grants = this.allowances.get(String(peer))
    if (grants == null) return false
    const now = this.now()
    for (const [token, until] of grants) if (until <= now) grants.delete(token)
    if (grants.size === 0) this.allowances.delete(String(peer))
    return grants.size > 0
  }

  /**
   * Allows connections with one (not yet trusted) peer for at most `ms`: the accepting side of a pairing
   * calls this for the inviter before dialling it. Returns the function that withdraws the allowance.
   */
  allowPeer (peer: PeerId | string, ms: number): () => void {
    const id = String(peer)
    const token = ++this.grantCounter
    const grants = this.allowances.get(id) ?? new Map<number, number>()
    grants.set(token, this.now() + ms)
    this.allowances.set(id, grants)
    return () => {
      const g = this.allowances.get(id)
      if (g == null) return
      g.delete(token)
      if (g.size === 0) this.allowances.delete(id)
    }
  }

  /** Registers the predicate "an invite can be answered now" (the pairing service owns it). */
  setInviteWindow (isOpen: () => boolean): void {
    this.inviteWindow = isOpen
  }

  /** Whether inbound connections from unknown peers are admitted right now. */
  inviteWindowOpen (): boolean {
    return this.inviteWindow()
  }

  /** Outbound: members and the peer of a pending pairing only. */
  mayDial (peer: PeerId | string): boolean {
    return this.isMember(peer) || this.isAllowedForPairing(peer)
  }

  /** Inbound: members, the peer of a pending pairing, and anyone while an invite is open. */
  mayAccept (peer: PeerId | string): boolean {
    return this.mayDial(peer) || this.inviteWindowOpen()
  }
}

/** The libp2p ConnectionGater enforcing a TrustGate. */
export function trustGater (gate: TrustGate): ConnectionGater {
  return {
    denyDialPeer: (peer) => !gate.mayDial(peer),
    // also covers dials by bare multiaddr, where the peer id is only known after the handshake
    denyOutboundEncryptedConnection: (peer) => !gate.mayDial(peer),
    denyInboundEncryptedConnection: (peer) => !gate.mayAccept(peer),
    // only trusted peers may hold a reservation on our relay (its limits are lifted for them)...
    denyInboundRelayReservation: (source) => !gate.isTrusted(source),
    // ...and we relay only between members, towards a trusted peer
    denyOutboundRelayedConnection: (source, destination) => !gate.isMember(source) || !gate.isTrusted(destination),
    // a relayed connection reaching us must come through a relay we know
    denyInboundRelayedConnection: (relay) => !gate.isMember(relay)
  }
}

/**
 * Wraps a protocol handler so that it serves trusted peers only: any other peer's stream is reset
 * before the handler sees it. For Holdfast protocols registered after the node started.
 */
export function trustedHandler (gate: TrustGate, handler: StreamHandler): StreamHandler {
  return async (stream, connection) => {
    if (!gate.isTrusted(connection.remotePeer)) {
      stream.abort(new Error('peer is not trusted'))
      return
    }
    await handler(stream, connection)
  }
}
