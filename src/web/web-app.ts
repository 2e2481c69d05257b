import type { IncomingMessage, ServerResponse } from 'node:http'
import { Hono, type Context } from 'hono'
import { getRequestListener } from '@hono/node-server'
import { UsageError } from '../errors.js'
import { errorJson } from '../api/api-server.js'
import { API_BASE, type ApiRoute, type WebMount, honoPath, httpStatusOf } from './api-routes.js'
import type { DaemonMetrics } from './metrics.js'
import { ASSET_TYPES } from './web-server.js'
import { HEALTH_PATH, webAuth, type PasswordSource } from './web-auth.js'

/** What the app serves. */
export interface WebAppInit {
  apiKey: string
  routes: ApiRoute[]
  /** Parts served outside /api/v1 (the WebDAV view). */
  mounts?: WebMount[]
  metrics: DaemonMetrics
  /** The dashboard's files by name (index.html, app.js, app.css, openapi.json); missing ones answer 404. */
  assets: Map<string, Buffer>
  isLoopback: (host: string) => boolean
  /** The GUI password (HOME/gui.json, read again when it changes); none: never one. */
  password?: PasswordSource
  /** Whether the server listens on a loopback address (default true). */
  loopback?: boolean
  /** Whether it answers over HTTPS (default false). */
  secure?: boolean
}

/**
 * The web face's routes (hono): the dashboard's files, /api/v1 and its OpenAPI document, /metrics. Loaded
 * by the web server at the first request only, so that a daemon whose dashboard nobody opens does not
 * carry it. Who may call what is web-auth.ts's business (loopback Host, session cookie and CSRF token, GUI
 * password, API key). Every answer forbids framing, sniffing and code from elsewhere.
 */
/** The largest JSON body a call may send (settings, sets, an invite code). */
const MAX_BODY = 1024 * 1024

export function webApp (init: WebAppInit): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const app = new Hono()
  const mounts = init.mounts ?? []
  const fail = (c: Context, status: ReturnType<typeof httpStatusOf>, err: unknown): Response => c.json({ error: errorJson(err) }, status)
  webAuth(app, { apiKey: init.apiKey, password: init.password, loopback: init.loopback ?? true, secure: init.secure ?? false, isLoopback: init.isLoopback, mounts })
  app.use('*', async (c, next) => {
    await next()
    c.header('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    c.header('x-content-type-options', 'nosniff')
    c.header('x-frame-options', 'DENY')
    c.header('referrer-policy', 'no-referrer')
    c.header('cache-control', 'no-store')
  })
  const asset = (c: Context, name: string): Response => {
    const data = init.assets.get(name)
    if (data == null) return fail(c, 404, new UsageError('the dashboard was not built with this install (npm run build); the REST API is at /api/v1'))
    return c.body(new Uint8Array(data), 200, { 'content-type': ASSET_TYPES[name] })
  }
  app.get('/', c => asset(c, 'index.html'))
  app.get('/assets/:name', c => {
    const name = c.req.param('name')
    return name === 'app.js' || name === 'app.css' ? asset(c, name) : fail(c, 404, new UsageError('no such asset'))
  })
  app.get(`${API_BASE}/openapi.json`, c => asset(c, 'openapi.json'))
  app.get(HEALTH_PATH, c => c.text('ok\n'))
  app.get('/metrics', async c => c.body(await init.metrics.text(), 200, { 'content-type': init.metrics.contentType }))
  for (const route of init.routes) {
    app.on(route.method.toUpperCase(), `${API_BASE}${honoPath(route.path)}`, async c => {
      try {
        const query = route.query != null ? route.query(c.req.query()) : {}
        let body: unknown
        if (route.method !== 'get') {
          // no body at all stands for {} (a script's `curl -X POST .../cancel`)
          if (Number(c.req.header('content-length') ?? 0) > MAX_BODY) throw new UsageError(`the request body is larger than ${MAX_BODY} bytes`)
          const text = await c.req.text()
          if (text.length > MAX_BODY) throw new UsageError(`the request body is larger than ${MAX_BODY} bytes`)
          try { body = text.trim() === '' ? {} : JSON.parse(text) } catch { throw new UsageError('the request body is not JSON') }
        }
        const result = await route.handler({ query, body, params: c.req.param() as Record<string, string>, signal: c.req.raw.signal })
        return result instanceof Response ? result : c.json(result as object)
      } catch (err) {
        return fail(c, httpStatusOf(err), err)
      }
    })
  }
  for (const mount of mounts) {
    const serve = async (c: Context): Promise<Response> => await mount.handler(c.req.raw)
    app.all(mount.prefix, serve)
    app.all(`${mount.prefix}/*`, serve)
  }
  app.notFound(c => fail(c, 404, new UsageError(`no route ${c.req.method} ${new URL(c.req.url).pathname}`)))
  app.onError((err, c) => fail(c, 500, err))
  const listener = getRequestListener(app.fetch)
  return async (req, res) => { await listener(req, res) }
}
