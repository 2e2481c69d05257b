import type { AccessState, BackupSet, LogEntry, Overview, Peer, Session, Status } from '../api-schemas.js'
import type { SessionState } from '../auth-schemas.js'

/** The dashboard's calls to the daemon's REST API (same origin), typed by the server's schemas. */
export class ApiError extends Error {
  constructor (readonly status: number, readonly errorName: string, message: string) {
    super(message)
    this.name = errorName
  }
}

/** Tells the page that the daemon no longer takes its session (signed out, expired, a new GUI password): 'signed-out'. */
export const authEvents = new EventTarget()
const signedOut = (status: number, path: string): void => {
  if (status === 401 && path !== '/session' && path !== '/login') authEvents.dispatchEvent(new Event('signed-out'))
}

async function get<T> (path: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(`/api/v1${path}`, { signal, headers: { accept: 'application/json' } })
  const body = await r.json().catch(() => undefined) as { error?: { name: string, message: string } } | undefined
  if (!r.ok) {
    signedOut(r.status, path)
    throw new ApiError(r.status, body?.error?.name ?? 'Error', body?.error?.message ?? `HTTP ${r.status}`)
  }
  return body as T
}

let csrf: Promise<string> | undefined

/** The page's CSRF token (from /api/v1/session, which also gives the page its session cookie). */
async function csrfToken (): Promise<string> {
  csrf ??= get<{ csrf: string }>('/session').then(r => r.csrf, err => { csrf = undefined; throw err })
  return await csrf
}

/** A call that changes something: JSON in, JSON out, with the session's CSRF token (fetched again once when it is stale). */
export async function send<T> (method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(`/api/v1${path}`, {
      method,
      signal,
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-csrf-token': await csrfToken() },
      body: JSON.stringify(body ?? {})
    })
    const answer = await r.json().catch(() => undefined) as { error?: { name: string, message: string } } | undefined
    if ((r.status === 401 || r.status === 403) && attempt === 0 && answer?.error?.name !== 'WrongPassphraseError' && path !== '/login') { csrf = undefined; continue }
    if (!r.ok) {
      signedOut(r.status, path)
      throw new ApiError(r.status, answer?.error?.name ?? 'Error', answer?.error?.message ?? `HTTP ${r.status}`)
    }
    return answer as T
  }
}

export { get }

/** Who the page is signed in as; `authenticated: false` (with the daemon's reason) when it must sign in first. */
async function session (signal?: AbortSignal): Promise<SessionState & { reason?: string }> {
  const r = await fetch('/api/v1/session', { signal, headers: { accept: 'application/json' } })
  const body = await r.json().catch(() => undefined) as (SessionState & { error?: { name: string, message: string } }) | undefined
  if (r.status === 401 && body != null) return { authenticated: false, passwordSet: body.passwordSet, reason: body.error?.message }
  if (!r.ok || body == null) throw new ApiError(r.status, body?.error?.name ?? 'Error', body?.error?.message ?? `HTTP ${r.status}`)
  if (body.csrf != null) csrf = Promise.resolve(body.csrf)
  return body
}

/** Signs in with the GUI password (the daemon sets the session cookie). */
async function login (password: string): Promise<SessionState> {
  const r = await fetch('/api/v1/login', { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify({ password }) })
  const answer = await r.json().catch(() => undefined) as (SessionState & { error?: { name: string, message: string } }) | undefined
  if (!r.ok) throw new ApiError(r.status, answer?.error?.name ?? 'Error', answer?.error?.message ?? `HTTP ${r.status}`)
  if (answer?.csrf != null) csrf = Promise.resolve(answer.csrf)
  return answer as SessionState
}

async function logout (): Promise<void> {
  try { await send<SessionState>('POST', '/logout') } finally { csrf = undefined }
}

export const api = {
  session,
  login,
  logout,
  access: async (signal?: AbortSignal) => await get<AccessState>('/access', signal),
  unlock: async (passphrase: string) => await send<AccessState>('POST', '/unlock', { passphrase }),
  lock: async () => await send<AccessState>('POST', '/lock'),
  status: async (signal?: AbortSignal) => await get<Status>('/status', signal),
  overview: async (signal?: AbortSignal) => await get<Overview>('/overview', signal),
  peers: async (signal?: AbortSignal) => await get<Peer[]>('/peers', signal),
  sets: async (signal?: AbortSignal) => await get<BackupSet[]>('/sets', signal),
  log: async (level: string, signal?: AbortSignal) => await get<LogEntry[]>(`/log?limit=200${level !== '' ? `&level=${level}` : ''}`, signal),
  sessions: async (query: { limit?: number, set?: string } = {}, signal?: AbortSignal) => {
    const q = new URLSearchParams()
    if (query.limit != null) q.set('limit', String(query.limit))
    if (query.set != null && query.set !== '') q.set('set', query.set)
    return await get<Session[]>(`/sessions${q.size > 0 ? `?${q.toString()}` : ''}`, signal)
  }
}

export type { AccessState, BackupSet, LogEntry, Overview, Peer, Session, SessionState, Status }
