import { get, send } from './api.js'
import type { DiffResult, DirListing, FileVersion, RestoreBody, RestoreProgress, SearchResult, SnapshotEntry, SnapshotInfo, StatsResult } from '../snapshot-schemas.js'

/** The Restore page's calls (routes in snapshot-routes.ts). */
const qs = (o: Record<string, string | number | undefined>): string => {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(o)) if (v != null && v !== '') q.set(k, String(v))
  return q.size > 0 ? `?${q.toString()}` : ''
}

export const snapshotApi = {
  snapshots: async (signal?: AbortSignal) => await get<SnapshotInfo[]>('/snapshots', signal),
  tree: async (id: string, path: string, signal?: AbortSignal) => await get<DirListing>(`/snapshots/${id}/tree${qs({ path, limit: 10000 })}`, signal),
  search: async (q: string, snapshot?: string, signal?: AbortSignal) => await get<SearchResult>(`/search${qs({ q, snapshot, limit: 200 })}`, signal),
  versions: async (path: string, signal?: AbortSignal) => await get<FileVersion[]>(`/versions${qs({ path })}`, signal),
  diff: async (id: string, from: string, signal?: AbortSignal) => await get<DiffResult>(`/snapshots/${id}/diff${qs({ with: from, limit: 500 })}`, signal),
  stats: async (signal?: AbortSignal) => await get<StatsResult>('/stats', signal),
  startRestore: async (body: RestoreBody) => await send<{ id: string }>('POST', '/restores', body),
  restore: async (id: string, signal?: AbortSignal) => await get<RestoreProgress>(`/restores/${id}`, signal),
  /** A restore's progress as server-sent events (`progress`, then `end`). */
  restoreEventsUrl: (id: string) => `/api/v1/restores/${id}/events`,
  /** Where a file downloads from (a plain link: the browser streams it to disk). */
  fileUrl: (id: string, path: string) => `/api/v1/snapshots/${id}/file${qs({ path })}`,
  archiveUrl: (id: string, path: string) => `/api/v1/snapshots/${id}/archive${qs({ path })}`
}

/** `/a/b` + `c` -> `/a/b/c` */
export function childPath (dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`
}

export type { DiffResult, DirListing, FileVersion, RestoreBody, RestoreProgress, SearchResult, SnapshotEntry, SnapshotInfo, StatsResult }
