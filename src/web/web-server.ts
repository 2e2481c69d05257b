import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { timingSafeEqual } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { Hono, type Context } from 'hono'
import { getRequestListener } from '@hono/node-server'
import { Value } from 'typebox/value'
import { ConfigError, HoldfastError, UsageError } from '../errors.js'
import { errorJson } from '../api/api-server.js'
import { API_BASE, type ApiRoute, honoPath, openApiDocument } from './api-routes.js'
import type { DaemonMetrics } from './metrics.js'

export interface WebServerInit {
  /** `HOST:PORT` (`127.0.0.1:8486`; port 0: any free port). */
  listen: string
  /** The API key scripts send as `Authorization: Bearer KEY`. */
  apiKey: string
  version: string
  routes: ApiRoute[]
  metrics: DaemonMetrics
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** Where `npm run build` puts the dashboard (dist/web, beside dist/src). */
export const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web')

const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8'
}

/** Splits `HOST:PORT` (`[::1]:8486` for IPv6). */
export function parseListen (listen: string): { host: string, port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim())
  const port = m != null ? Number(m[3]) : NaN
  if (m == null || port > 65535) throw new ConfigError(`gui.listen must be HOST:PORT (for example 127.0.0.1:8486), got ${JSON.stringify(listen)}`)
  return { host: m[1] ?? m[2], port }
}

export function isLoopback (host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)
}

/**
 * The daemon's web face (hono over node:http): the REST API under /api/v1 with its OpenAPI document at
 * /api/v1/openapi.json, and /metrics. It listens on 127.0.0.1 unless told otherwise; any other address
 * is refused until a GUI password protects it. Requests must name this server in their Host header (a
 * page of another site cannot reach it through DNS rebinding); scripts send the API key. Nothing a
 * client sends stops the server: every handler's error becomes a JSON error answer.
 */
export class WebServer {
  private server?: Server
  private readonly app: Hono
  private readonly host: string
  private readonly port: number
  private boundPort = 0
  private readonly assets = new Map<string, Buffer>()

  constructor (private readonly init: WebServerInit) {
    const { host, port } = parseListen(init.listen)
    if (!isLoopback(host)) {
      throw new ConfigError(`the dashboard listens on ${host} only with a GUI password, and none is set: keep gui.listen on 127.0.0.1 (reach it through an SSH tunnel), or set one with "holdfast gui password"`)
    }
    this.host = host
    this.port = port
    this.app = this.build()
  }

  /** Where the server answers (once started). */
  get url (): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host
    return `http://${host}:${this.boundPort}`
  }

  async start (): Promise<void> {
    if (this.server != null) return
    // the dashboard's files, read once (about 30 KiB); a tree without them serves the API alone
    for (const name of Object.keys(ASSETS)) {
      try { this.assets.set(name, await readFile(join(UI_DIR, name))) } catch {}
    }
    const server = createServer(getRequestListener(this.app.fetch))
    server.headersTimeout = 10_000
    server.requestTimeout = 60_000
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, this.host, () => { server.off('error', reject); resolve() })
    })
    this.boundPort = (server.address() as AddressInfo).port
    this.server = server
  }

  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  private build (): Hono {
    const app = new Hono()
    const fail = (c: Context, status: 400 | 401 | 403 | 404 | 500, err: unknown): Response => c.json({ error: errorJson(err) }, status)
    // only requests addressed to this server by a name it answers to (DNS rebinding)
    app.use('*', async (c, next) => {
      const hostHeader = c.req.header('host') ?? ''
      const name = hostHeader.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1')
      if (!isLoopback(name)) return fail(c, 403, new UsageError(`this server answers to 127.0.0.1 or localhost, not ${hostHeader}`))
      await next()
    })
    // the API key, or a read from this machine's browser (no state changes without the key yet)
    app.use('*', async (c, next) => {
      const header = c.req.header('authorization') ?? ''
      if (header !== '') {
        const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '')
        const want = Buffer.from(this.init.apiKey)
        if (given.length !== want.length || !timingSafeEqual(given, want)) return fail(c, 401, Object.assign(new Error('wrong API key'), { name: 'UnauthorizedError' }))
      } else if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
        return fail(c, 401, Object.assign(new Error('changes need the API key (Authorization: Bearer KEY)'), { name: 'UnauthorizedError' }))
      }
      await next()
    })
    app.use('*', async (c, next) => {
      await next()
      // nothing here may be framed, sniffed or load code from elsewhere
      c.header('content-security-policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
      c.header('x-content-type-options', 'nosniff')
      c.header('x-frame-options', 'DENY')
      c.header('referrer-policy', 'no-referrer')
      c.header('cache-control', 'no-store')
    })
    const asset = (c: Context, name: string): Response => {
      const data = this.assets.get(name)
      if (data == null) return fail(c, 404, new UsageError('the dashboard was not built with this install (npm run build); the REST API is at /api/v1'))
      return c.body(new Uint8Array(data), 200, { 'content-type': ASSETS[name] })
    }
    app.get('/', c => asset(c, 'index.html'))
    app.get('/assets/:name', c => ASSETS[c.req.param('name')] != null && c.req.param('name') !== 'index.html' ? asset(c, c.req.param('name')) : fail(c, 404, new UsageError('no such asset')))
    const doc = openApiDocument(this.init.routes, this.init.version)
    app.get(`${API_BASE}/openapi.json`, c => c.json(doc))
    app.get('/metrics', async c => {
      const text = await this.init.metrics.text()
      return c.body(text, 200, { 'content-type': this.init.metrics.contentType })
    })
    for (const route of this.init.routes) {
      app.on(route.method.toUpperCase(), `${API_BASE}${honoPath(route.path)}`, async c => {
        try {
          let query: Record<string, unknown> = {}
          if (route.query != null) {
            query = Value.Convert(route.query, { ...c.req.query() }) as Record<string, unknown>
            if (!Value.Check(route.query, query)) {
              const first = [...Value.Errors(route.query, query)][0]
              throw new UsageError(`query ${first?.instancePath ?? ''}: ${first?.message ?? 'invalid'}`)
            }
          }
          let body: unknown
          if (route.body != null) {
            try { body = await c.req.json() } catch { throw new UsageError('the request body is not JSON') }
            if (!Value.Check(route.body, body)) {
              const first = [...Value.Errors(route.body, body)][0]
              throw new UsageError(`body ${first?.instancePath ?? ''}: ${first?.message ?? 'invalid'}`)
            }
          }
          const result = await route.handler({ query, body, params: c.req.param() as Record<string, string>, signal: c.req.raw.signal })
          return c.json(result as object)
        } catch (err) {
          const status = err instanceof HoldfastError && err.exitCode === 2 ? 400 : (err as Error).name === 'NotFoundError' ? 404 : 500
          return fail(c, status, err)
        }
      })
    }
    app.notFound(c => fail(c, 404, new UsageError(`no route ${c.req.method} ${new URL(c.req.url).pathname}`)))
    app.onError((err, c) => fail(c, 500, err))
    return app
  }
}
