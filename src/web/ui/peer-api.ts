import type { Peer } from '../api-schemas.js'
import type { Invite } from '../settings-schemas.js'
import { send } from './api.js'

/** The Peers page's pairing calls (peer-routes.ts). */
export const peerApi = {
  invite: async (body: { quota: string, name?: string, expirySeconds?: number }) => await send<Invite>('POST', '/peers/invite', body),
  accept: async (body: { code: string, quota: string, name?: string }) => await send<Peer>('POST', '/peers/accept', body),
  revoke: async (peerId: string) => await send<Peer>('POST', `/peers/${encodeURIComponent(peerId)}/revoke`)
}

export type { Invite, Peer }
