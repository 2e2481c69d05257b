import type { ApiRoute } from './api-routes.js'
import type { DirListing, RunEvent, RunProgress, SetConfig } from './backup-schemas.js'
import { textParam } from './api-routes.js'
import { eventStream } from './event-stream.js'

/** What the Backup page asks of the daemon (daemon/backup-control.ts). */
export interface BackupView {
  /** Starts a session of the set now (NotFoundError, BusyError, PassphraseNeededError). */
  backupNow: (set: string) => Promise<{ id: string }>
  /** The sessions under way. */
  runs: () => RunProgress[]
  /** Cancels a session under way (NotFoundError when no run has that id). */
  cancel: (id: string) => RunProgress
  /** Tells `listener` of every run's progress (throttled) and end; returns the unsubscribe. */
  subscribe: (listener: (e: RunEvent) => void) => () => void
  /** Aborted when the daemon stops: the event streams end. */
  closed: AbortSignal
  addSet: (body: unknown) => Promise<SetConfig>
  changeSet: (name: string, body: unknown) => Promise<SetConfig>
  removeSet: (name: string) => Promise<void>
  listDir: (path: string, signal: AbortSignal) => Promise<DirListing>
}

/** The Backup page's routes (documented in backup-spec.ts). */
export function backupRoutes (view: BackupView): ApiRoute[] {
  return [
    { method: 'post', path: '/sets/{name}/backup', handler: async ({ params }) => await view.backupNow(params.name) },
    { method: 'get', path: '/runs', handler: async () => view.runs() },
    {
      method: 'get',
      path: '/events',
      handler: async ({ signal }) => eventStream({
        initial: view.runs().map(run => ({ event: 'run:progress', data: { type: 'run:progress', run } })),
        subscribe: send => view.subscribe(e => send({ event: e.type, data: e })),
        signal,
        closed: view.closed
      })
    },
    { method: 'post', path: '/runs/{id}/cancel', handler: async ({ params }) => view.cancel(params.id) },
    { method: 'post', path: '/sets', handler: async ({ body }) => await view.addSet(body) },
    { method: 'put', path: '/sets/{name}', handler: async ({ params, body }) => await view.changeSet(params.name, body) },
    { method: 'delete', path: '/sets/{name}', handler: async ({ params }) => { await view.removeSet(params.name); return { removed: params.name } } },
    {
      method: 'get',
      path: '/fs',
      query: raw => ({ path: textParam(raw, 'path', 4096) ?? '/' }),
      handler: async ({ query, signal }) => await view.listDir(query.path as string, signal)
    }
  ]
}
