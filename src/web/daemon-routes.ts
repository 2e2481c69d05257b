import Type from 'typebox'
import { BackupSet, Overview, Peer, Session, SessionsQuery, Status } from './api-schemas.js'
import type { ApiRoute } from './api-routes.js'
import { overviewOf } from './overview.js'

/** What the API reads from the daemon. */
export interface DaemonView {
  status: () => Status
  peers: () => Peer[]
  sessions: (options: { limit?: number, set?: string }) => Promise<Session[]>
  sets: () => Promise<BackupSet[]>
}

/** The REST API's routes over a daemon. */
export function daemonRoutes (view: DaemonView, now: () => number = Date.now): ApiRoute[] {
  return [
    { method: 'get', path: '/status', tag: 'node', summary: 'This node: identity, addresses, peers', response: Status, handler: async () => view.status() },
    { method: 'get', path: '/peers', tag: 'peers', summary: 'Every peer this node paired with (revoked ones too), how it is reached and the room each side keeps and grants', response: Type.Array(Peer), handler: async () => view.peers() },
    {
      method: 'get',
      path: '/sessions',
      tag: 'sessions',
      summary: 'Backup session reports, newest first',
      query: SessionsQuery,
      response: Type.Array(Session),
      handler: async ({ query }) => await view.sessions(query as { limit?: number, set?: string })
    },
    { method: 'get', path: '/sets', tag: 'backup', summary: 'The backup sets, their schedules, next runs and last sessions', response: Type.Array(BackupSet), handler: async () => await view.sets() },
    {
      method: 'get',
      path: '/overview',
      tag: 'overview',
      summary: 'Is my data safe? The protection status in one sentence and a colour, warnings with their fixes, space used and given',
      response: Overview,
      handler: async () => overviewOf({ sets: await view.sets(), peers: view.peers(), recentSessions: await view.sessions({ limit: 10 }), now: now() })
    }
  ]
}
