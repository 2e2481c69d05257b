import { timingSafeEqual } from 'node:crypto'
import type { Context, Hono } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { bodyLimit } from 'hono/body-limit'
import { getConnInfo } from '@hono/node-server/conninfo'
import { ForbiddenError, TooManyRequestsError, UnauthorizedError, UsageError } from '../errors.js'
import { errorJson } from '../api/api-server.js'
import { API_BASE, type WebMount } from './api-routes.js'
import type { PasswordHash } from './gui-password.js'
import { MAX_PASSWORD_LENGTH } from './gui-password.js'
import { LoginLimiter } from './login-limiter.js'
import { CSRF_HEADER, SESSION_COOKIE, WebSessions } from './web-sessions.js'

/** The routes the auth layer serves itself (documented by AUTH_SPEC in auth-spec.ts). */
export const AUTH_ROUTES: ReadonlyArray<{ method: 'get' | 'post', path: string }> = [
  { method: 'get', path: '/session' },
  { method: 'post', path: '/login' },
  { method: 'post', path: '/logout' }
]

/** The GUI password as the server reads it (GuiPasswordFile). */
export interface PasswordSource {
  /** The hash in force, or undefined when none is set. */
  current: () => Promise<PasswordHash | undefined>
  verify: (password: string, options?: { signal?: AbortSignal }) => Promise<boolean>
}

export interface WebAuthInit {
  /** The API key scripts send as `Authorization: Bearer KEY`. */
  apiKey: string
  /** The GUI password (none: the server never has one). */
  password?: PasswordSource
  /** Whether the server listens on a loopback address. */
  loopback: boolean
  /** Whether it answers over HTTPS (the session cookie is then Secure). */
  secure: boolean
  isLoopback: (host: string) => boolean
  mounts: WebMount[]
  limiter?: LoginLimiter
  sessions?: WebSessions
}

/** What a WebDAV client is told when it must authenticate (OS clients speak Basic only). */
const BASIC_CHALLENGE = 'Basic realm="Holdfast", charset="UTF-8"'

/**
 * The web face's doors, put in front of every route of `app`:
 * - no GUI password and a loopback listen (the default): a request must name a loopback Host (DNS
 *   rebinding); a GET passes; a change needs the browser's session cookie and its CSRF token, or the API key;
 * - a GUI password set (or a listen beyond loopback): every route but the dashboard's files (/, /assets/),
 *   the health check (/healthz: "ok", nothing else) and session/login/logout needs a signed-in session (cookie; CSRF token for changes) or the API key
 *   (Bearer; on mounts such as /dav/ also as the password of `Authorization: Basic`, as is the GUI
 *   password). A listen beyond loopback without a password (removed while the daemon runs) refuses all.
 * Sign-ins are limited per client address (LoginLimiter); a password check runs scrypt off the event loop.
 */
/** Answers "ok" to anyone while the daemon serves: for health checks (Docker, systemd, monitors). */
export const HEALTH_PATH = '/healthz'

export function webAuth (app: Hono, init: WebAuthInit): void {
  const sessions = init.sessions ?? new WebSessions()
  const limiter = init.limiter ?? new LoginLimiter()
  const mountOf = (path: string): WebMount | undefined => init.mounts.find(m => path === m.prefix || path.startsWith(`${m.prefix}/`))
  const fail = (c: Context, status: 400 | 401 | 403 | 429, err: Error, extra: Record<string, unknown> = {}): Response => c.json({ ...extra, error: errorJson(err) }, status)
  const current = async (): Promise<PasswordHash | undefined> => await init.password?.current()
  const isKey = (given: string): boolean => {
    const a = Buffer.from(given)
    const b = Buffer.from(init.apiKey)
    return a.length === b.length && timingSafeEqual(a, b)
  }
  /** Requests that passed with the API key or a Basic password (no session, no CSRF token needed). */
  const byHeader = new WeakSet<Request>()
  const clientOf = (c: Context): string => { try { return getConnInfo(c).remote.address ?? 'unknown' } catch { return 'unknown' } }
  /** Checks `password` as a sign-in from the client: 429 when it tried too often, 401 when wrong. */
  const checkPassword = async (c: Context, password: string): Promise<Response | undefined> => {
    const attempt = limiter.attempt(clientOf(c))
    if (!attempt.allowed) {
      c.header('retry-after', String(Math.ceil(attempt.retryAfterMs / 1000)))
      return fail(c, 429, new TooManyRequestsError(`too many failed sign-ins from this address: try again in ${Math.ceil(attempt.retryAfterMs / 1000)} s`))
    }
    let ok = false
    try {
      ok = await init.password!.verify(password, { signal: c.req.raw.signal })
    } catch (err) {
      if ((err as Error).name !== 'TooManyRequestsError') throw err
      c.header('retry-after', '1')
      return fail(c, 429, err as Error)
    } finally {
      attempt.done(ok)
    }
    return ok ? undefined : fail(c, 401, new UnauthorizedError('wrong GUI password'))
  }
  const isAuthPath = (path: string): boolean => AUTH_ROUTES.some(r => path === `${API_BASE}${r.path}`)

  app.use('*', async (c, next) => {
    const hash = await current()
    const open = hash == null && init.loopback
    const path = c.req.path
    const method = c.req.method
    // DNS rebinding: an unprotected server answers to loopback names only; a password protects the others
    if (open) {
      const hostHeader = c.req.header('host') ?? ''
      const name = hostHeader.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')
      if (!init.isLoopback(name)) return fail(c, 403, new ForbiddenError(`this server answers to 127.0.0.1 or localhost, not ${hostHeader.slice(0, 100)}`))
    }
    const safe = method === 'GET' || method === 'HEAD'
    // the dashboard's files, and whether the daemon answers at all (container and service health checks)
    if (safe && (path === '/' || path.startsWith('/assets/') || path === HEALTH_PATH)) return await next()
    const mount = mountOf(path)
    const safeHere = safe || (mount?.safeMethods.includes(method) ?? false)
    const header = c.req.header('authorization') ?? ''
    if (header !== '') {
      // scripts and WebDAV clients: the API key (Bearer; Basic on mounts), or on mounts the GUI password
      const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header)
      if (header.startsWith('Bearer ')) {
        if (!isKey(header.slice(7))) return fail(c, 401, new UnauthorizedError('wrong API key'))
      } else if (basic != null && mount != null) {
        const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
        const password = decoded.slice(decoded.indexOf(':') + 1)
        if (!isKey(password)) {
          const refused = hash != null ? await checkPassword(c, password) : fail(c, 401, new UnauthorizedError('wrong API key'))
          if (refused != null) {
            if (refused.status === 401) refused.headers.set('www-authenticate', BASIC_CHALLENGE)
            return refused
          }
        }
      } else {
        return fail(c, 401, new UnauthorizedError('Authorization must be "Bearer API_KEY" (or Basic on /dav/)'))
      }
      byHeader.add(c.req.raw)
      return await next()
    }
    if (isAuthPath(path)) return await next()
    const id = getCookie(c, SESSION_COOKIE)
    if (open) {
      // this machine only: a look needs nothing, a change its session and CSRF token
      if (safeHere) return await next()
      if (sessions.touch(id) == null) return fail(c, 401, new UnauthorizedError('changes need a dashboard session (reload the page) or the API key (Authorization: Bearer KEY)'))
    } else {
      const stamp = hash?.salt
      if (stamp == null || sessions.touch(id, stamp) == null) {
        if (mount != null) c.header('www-authenticate', BASIC_CHALLENGE)
        return fail(c, 401, new UnauthorizedError(hash == null
          ? 'no GUI password is set and this server listens beyond this machine: it refuses every call until one is set (holdfast gui password)'
          : 'sign in with the GUI password first (POST /api/v1/login), or send the API key (Authorization: Bearer KEY)'))
      }
      if (safeHere) return await next()
    }
    if (!sessions.checkCsrf(id, c.req.header(CSRF_HEADER), hash?.salt ?? '')) return fail(c, 403, new ForbiddenError(`the call carries no valid CSRF token (${CSRF_HEADER})`))
    await next()
  })

  const cookieOptions = { httpOnly: true, sameSite: 'Strict', secure: init.secure, path: '/' } as const
  // the page's session: who it is signed in as (made at once on this machine when no password is set)
  app.get(`${API_BASE}/session`, async c => {
    const hash = await current()
    const passwordSet = hash != null
    if (byHeader.has(c.req.raw)) return c.json({ authenticated: true, passwordSet })
    let id = getCookie(c, SESSION_COOKIE)
    let csrf = sessions.touch(id, hash?.salt ?? '')
    if (csrf == null && hash == null && init.loopback) {
      const made = sessions.create()
      id = made.id
      csrf = made.csrf
      setCookie(c, SESSION_COOKIE, id, cookieOptions)
    }
    if (csrf == null) {
      return fail(c, 401, new UnauthorizedError(passwordSet ? 'sign in with the GUI password' : 'no GUI password is set and this server listens beyond this machine: set one with "holdfast gui password"'), { authenticated: false, passwordSet })
    }
    return c.json({ authenticated: true, passwordSet, csrf })
  })
  app.post(`${API_BASE}/login`, bodyLimit({ maxSize: 16 * 1024, onError: c => fail(c, 400, new UsageError('the request body is too large')) }), async c => {
    // a page of another site cannot sign this browser in (nor spend its sign-in attempts)
    const origin = c.req.header('origin')
    if (origin != null && origin !== 'null') {
      let host: string | undefined
      try { host = new URL(origin).host } catch {}
      if (host !== c.req.header('host')) return fail(c, 403, new ForbiddenError(`a sign-in from another origin (${origin.slice(0, 100)})`))
    }
    const hash = await current()
    if (hash == null) return fail(c, 400, new UsageError('no GUI password is set: the dashboard needs no sign-in on this machine (set one with "holdfast gui password")'))
    let body: unknown
    try { body = await c.req.json() } catch { return fail(c, 400, new UsageError('the request body is not JSON')) }
    const password = (body as { password?: unknown } | null)?.password
    if (typeof password !== 'string' || password === '' || password.length > MAX_PASSWORD_LENGTH) return fail(c, 400, new UsageError(`the body must be { "password": "..." } (1 to ${MAX_PASSWORD_LENGTH} characters)`))
    const refused = await checkPassword(c, password)
    if (refused != null) return refused
    sessions.end(getCookie(c, SESSION_COOKIE))
    const made = sessions.create(hash.salt)
    setCookie(c, SESSION_COOKIE, made.id, cookieOptions)
    return c.json({ authenticated: true, passwordSet: true, csrf: made.csrf })
  })
  app.post(`${API_BASE}/logout`, async c => {
    const hash = await current()
    const id = getCookie(c, SESSION_COOKIE)
    if (sessions.touch(id, hash?.salt ?? '') != null) {
      if (!sessions.checkCsrf(id, c.req.header(CSRF_HEADER), hash?.salt ?? '')) return fail(c, 403, new ForbiddenError(`the call carries no valid CSRF token (${CSRF_HEADER})`))
      sessions.end(id)
    }
    deleteCookie(c, SESSION_COOKIE, cookieOptions)
    return c.json({ authenticated: false, passwordSet: hash != null })
  })
}
