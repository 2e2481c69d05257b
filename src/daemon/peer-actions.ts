import { UnknownPeerError } from '../errors.js'
import { decodeInvite } from '../node/invite-code.js'
import type { PairingService } from '../node/pairing.js'
import type { Presence } from '../node/presence.js'
import type { TrustList } from '../node/trust-list.js'
import type { Peer } from '../web/api-schemas.js'
import type { PeerActionView } from '../web/peer-routes.js'
import type { Invite } from '../web/settings-schemas.js'

export interface DaemonPeerActionsInit {
  pairing: () => PairingService
  trust: () => TrustList
  presence: () => Presence | undefined
  /** The peers as GET /peers shows them. */
  peers: () => Peer[]
  /** The configured lifetime of an invite (inviteExpirySeconds, as reloaded). */
  inviteExpirySeconds: () => number
}

/** Pairing from the dashboard, by the calls the socket API's /peers/invite, /peers/accept and /peers/revoke make. */
export class DaemonPeerActions implements PeerActionView {
  constructor (private readonly init: DaemonPeerActionsInit) {}

  async invite (options: { quota: number, name?: string, expirySeconds?: number }): Promise<Invite> {
    const code = await this.init.pairing().createInvite({ quota: options.quota, name: options.name, expirySeconds: options.expirySeconds ?? this.init.inviteExpirySeconds() })
    return { code, expires: new Date(decodeInvite(code).expires).toISOString() }
  }

  async accept (options: { code: string, quota: number, name?: string }, signal: AbortSignal): Promise<Peer> {
    const entry = await this.init.pairing().acceptInvite(options.code, { quota: options.quota, name: options.name, signal })
    this.init.presence()?.retryNow(entry.peerId)
    return this.peer(entry.peerId)
  }

  async revoke (peerId: string): Promise<Peer> {
    const entry = this.init.trust().list().find(e => e.peerId === peerId)
    if (entry == null) throw new UnknownPeerError(`no trusted peer ${peerId}`)
    await this.init.trust().revoke(entry.peerId)
    return this.peer(entry.peerId)
  }

  private peer (peerId: string): Peer {
    const p = this.init.peers().find(x => x.peerId === peerId)
    if (p == null) throw new UnknownPeerError(`peer ${peerId} is not on the trust list`)
    return p
  }
}
