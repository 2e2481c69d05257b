/**
 * The Holdfast node on the network: its libp2p identity and profile (name, site), the trust list of
 * paired peers, the gate that keeps everyone else out, pairing by invite code, the libp2p node itself
 * presence (keeping trusted peers connected) and locate (asking them where a peer that moved is). Its home directory is src/home.
 * The shard protocol that runs over these connections lives in src/protocol.
 */
export * from './identity.js'
export * from './profile.js'
export * from './trust-list.js'
export * from './gater.js'
export * from './trust-guard.js'
export * from './invite-code.js'
export { InviteStore, USED_GRACE_MS, invitesPath, type PendingInvite } from './invite-store.js'
export * from './pairing.js'
export * from './presence.js'
export * from './rhythm.js'
export * from './locate-service.js'
export * from './libp2p-node.js'
