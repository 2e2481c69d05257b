import type { BackupSet, LogEntry, PackHealthSummary, Peer, Session, Status } from './api-schemas.js'
import { intParam, textParam, type ApiRoute } from './api-routes.js'
import { UsageError } from '../errors.js'
import { overviewOf } from './overview.js'

/** What the API reads from the daemon. */
export interface DaemonView {
  status: () => Status
  peers: () => Peer[]
  sessions: (options: { limit?: number, set?: string }) => Promise<Session[]>
  sets: () => Promise<BackupSet[]>
  /** The packs by the shards reachable now (null: not known now). */
  packs: () => Promise<PackHealthSummary | null>
  /** The daemon's recent log, newest first. */
  log: (options: { limit?: number, level?: LogEntry['level'] }) => LogEntry[]
}

/** The REST API's routes over a daemon (documented in api-spec.ts). */
export function daemonRoutes (view: DaemonView, now: () => number = Date.now): ApiRoute[] {
  return [
    { method: 'get', path: '/status', handler: async () => view.status() },
    { method: 'get', path: '/peers', handler: async () => view.peers() },
    {
      method: 'get',
      path: '/sessions',
      query: raw => ({ limit: intParam(raw, 'limit', 1, 1000), set: textParam(raw, 'set', 64) }),
      handler: async ({ query }) => await view.sessions(query as { limit?: number, set?: string })
    },
    { method: 'get', path: '/sets', handler: async () => await view.sets() },
    {
      method: 'get',
      path: '/log',
      query: raw => {
        const level = textParam(raw, 'level', 10)
        if (level != null && level !== 'info' && level !== 'warning' && level !== 'error') throw new UsageError('query level must be info, warning or error')
        return { limit: intParam(raw, 'limit', 1, 500), level }
      },
      handler: async ({ query }) => view.log(query as { limit?: number, level?: LogEntry['level'] })
    },
    {
      method: 'get',
      path: '/overview',
      handler: async () => overviewOf({ sets: await view.sets(), peers: view.peers(), recentSessions: await view.sessions({ limit: 10 }), packs: await view.packs(), now: now() })
    }
  ]
}
