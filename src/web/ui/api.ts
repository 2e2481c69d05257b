import type { BackupSet, Overview, Peer, Session, Status } from '../api-schemas.js'

/** The dashboard's calls to the daemon's REST API (same origin), typed by the server's schemas. */
export class ApiError extends Error {
  constructor (readonly status: number, readonly errorName: string, message: string) {
    super(message)
    this.name = errorName
  }
}

async function get<T> (path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(`/api/v1${path}`, { signal, headers: { accept: 'application/json' } })
  const body = await r.json().catch(() => undefined) as { error?: { name: string, message: string } } | undefined
  if (!r.ok) throw new ApiError(r.status, body?.error?.name ?? 'Error', body?.error?.message ?? `HTTP ${r.status}`)
  return body as T
}

export const api = {
  status: async (signal?: AbortSignal) => await get<Status>('/status', signal),
  overview: async (signal?: AbortSignal) => await get<Overview>('/overview', signal),
  peers: async (signal?: AbortSignal) => await get<Peer[]>('/peers', signal),
  sets: async (signal?: AbortSignal) => await get<BackupSet[]>('/sets', signal),
  sessions: async (query: { limit?: number, set?: string } = {}, signal?: AbortSignal) => {
    const q = new URLSearchParams()
    if (query.limit != null) q.set('limit', String(query.limit))
    if (query.set != null && query.set !== '') q.set('set', query.set)
    return await get<Session[]>(`/sessions${q.size > 0 ? `?${q.toString()}` : ''}`, signal)
  }
}

export type { BackupSet, Overview, Peer, Session, Status }
