import { UsageError } from '../errors.js'
import { FLEET_ACTIONS, type FleetAction, type FleetMember, type FleetSession } from '../fleet/index.js'
import type { ApiRoute } from './api-routes.js'

/** The Fleet page: the nodes that made this node their admin (daemon: FleetService). */
export interface FleetView {
  members: (signal: AbortSignal) => Promise<FleetMember[]>
  sessions: (peer: string, limit: number, signal: AbortSignal) => Promise<FleetSession[]>
  run: (peer: string, action: FleetAction, set: string | undefined, signal: AbortSignal) => Promise<{ id: string }>
}

/** GET /fleet, GET /fleet/{peerId}/sessions, POST /fleet/{peerId}/run (documented in fleet-spec.ts). */
export function fleetRoutes (view: FleetView): ApiRoute[] {
  return [
    { method: 'get', path: '/fleet', handler: async ({ signal }) => await view.members(signal) },
    { method: 'get', path: '/fleet/{peerId}/sessions', handler: async ({ params, signal }) => await view.sessions(params.peerId, 20, signal) },
    {
      method: 'post',
      path: '/fleet/{peerId}/run',
      handler: async ({ params, body, signal }) => {
        const b = (body ?? {}) as Record<string, unknown>
        if (!FLEET_ACTIONS.includes(b.action as FleetAction)) throw new UsageError('action: backup, audit or repair')
        if (b.set != null && (typeof b.set !== 'string' || b.set.length > 64)) throw new UsageError('set: a set\'s name')
        return await view.run(params.peerId, b.action as FleetAction, (b.set as string | undefined) ?? undefined, signal)
      }
    }
  ]
}
