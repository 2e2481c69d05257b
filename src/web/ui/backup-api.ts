import type { DirListing, RunEnded, RunProgress, RunStarted, SetBody, SetConfig } from '../backup-schemas.js'
import { get, send } from './api.js'

/** The Backup page's calls (the REST API's /sets, /runs, /events and /fs). */
export const backupApi = {
  backupNow: async (set: string) => await send<RunStarted>('POST', `/sets/${encodeURIComponent(set)}/backup`),
  runs: async (signal?: AbortSignal) => await get<RunProgress[]>('/runs', signal),
  cancel: async (id: string) => await send<RunProgress>('POST', `/runs/${encodeURIComponent(id)}/cancel`),
  addSet: async (body: SetBody) => await send<SetConfig>('POST', '/sets', body),
  changeSet: async (name: string, body: SetBody) => await send<SetConfig>('PUT', `/sets/${encodeURIComponent(name)}`, body),
  removeSet: async (name: string) => await send<{ removed: string }>('DELETE', `/sets/${encodeURIComponent(name)}`),
  listDir: async (path: string, signal?: AbortSignal) => await get<DirListing>(`/fs?path=${encodeURIComponent(path)}`, signal)
}

/** Where the server-sent events of the runs come from. */
export const EVENTS_URL = '/api/v1/events'

export type { DirListing, RunEnded, RunProgress, SetBody, SetConfig }
