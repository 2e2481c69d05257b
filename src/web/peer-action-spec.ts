import Type from 'typebox'
import { Peer } from './api-schemas.js'
import type { ApiOperation } from './api-spec.js'
import { AcceptBody, Invite, InviteBody } from './settings-schemas.js'

/** The pairing routes (peer-routes.ts). */
export const PEER_ACTION_SPEC: ApiOperation[] = [
  { method: 'post', path: '/peers/invite', tag: 'peers', summary: 'Creates an invite code granting its acceptor a quota here', body: InviteBody, response: Invite },
  { method: 'post', path: '/peers/accept', tag: 'peers', summary: 'Pairs with the node that made the code (PairingError 400 when it fails), granting it a quota here', body: AcceptBody, response: Peer },
  { method: 'post', path: '/peers/{peerId}/revoke', tag: 'peers', summary: 'Revokes a peer: it is refused from now on (UnknownPeerError 404)', body: Type.Object({}), response: Peer }
]
