import type { FleetMember, FleetSession } from '../../fleet/fleet-status.js'
import { get, send } from './api.js'

/** The Fleet page's calls (fleet-routes.ts). */
export const fleetApi = {
  members: async (signal?: AbortSignal) => await get<FleetMember[]>('/fleet', signal),
  sessions: async (peerId: string, signal?: AbortSignal) => await get<FleetSession[]>(`/fleet/${encodeURIComponent(peerId)}/sessions`, signal),
  run: async (peerId: string, action: 'backup' | 'audit' | 'repair', set?: string) => await send<{ id: string }>('POST', `/fleet/${encodeURIComponent(peerId)}/run`, { action, ...(set != null ? { set } : {}) })
}

export type { FleetMember, FleetSession }
