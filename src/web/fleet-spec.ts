import Type from 'typebox'
import { FLEET_ACTIONS, FleetMember, FleetSession } from '../fleet/index.js'
import type { ApiOperation } from './api-spec.js'

export const FleetRunBody = Type.Object({
  action: Type.Union(FLEET_ACTIONS.map(a => Type.Literal(a))),
  set: Type.Optional(Type.String({ maxLength: 64, description: 'the set to back up (needed when the node has several)' }))
})

/** The fleet routes (fleet-routes.ts). */
export const FLEET_SPEC: ApiOperation[] = [
  { method: 'get', path: '/fleet', tag: 'fleet', summary: 'The nodes that granted this node the admin role, each with its status (offline ones: the last seen); a node that withdrew the role is gone', response: Type.Array(FleetMember) },
  { method: 'get', path: '/fleet/{peerId}/sessions', tag: 'fleet', summary: 'A fleet node\'s latest session reports (ForbiddenError 403 when it does not grant the role)', response: Type.Array(FleetSession) },
  { method: 'post', path: '/fleet/{peerId}/run', tag: 'fleet', summary: 'Starts a backup (of a set), an audit or a repair on a fleet node; its id shows in the node\'s jobs', body: FleetRunBody, response: Type.Object({ id: Type.String() }) }
]
