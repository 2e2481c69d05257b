import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError } from '../errors.js'
import type { ApiRoute, WebMount } from './api-routes.js'
import type { DaemonMetrics } from './metrics.js'
import type { PasswordSource } from './web-auth.js'

export interface WebServerInit {
  /** `HOST:PORT` (`127.0.0.1:8486`; port 0: any free port). */
  listen: string
  /** The API key scripts send as `Authorization: Bearer KEY`. */
  apiKey: string
  routes: ApiRoute[]
  /** Parts served outside /api/v1 (the WebDAV view). */
  mounts?: WebMount[]
  metrics: DaemonMetrics
  /** Where the dashboard's built files are (default: dist/web). */
  uiDir?: string
  /** The GUI password (HOME/gui.json); a listen beyond loopback needs one. */
  password?: PasswordSource
  /** Serve HTTPS with this certificate and key (PEM); a listen beyond loopback needs it. */
  tls?: { cert: string, key: string }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost'])

/** Where `npm run build` puts the dashboard and the OpenAPI document (dist/web, beside dist/src). */
export const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web')

/** The dashboard's files and their content types. */
export const ASSET_TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
  'openapi.json': 'application/json'
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
 * The daemon's web face: the dashboard, the REST API under /api/v1 with its OpenAPI document, and
 * /metrics (web-app.ts). It listens on 127.0.0.1 unless told otherwise; any other address is refused
 * at start until a GUI password protects it, and is served over HTTPS only. The routes (hono) are loaded
 * at the first request: an idle daemon whose dashboard nobody opens holds a listening socket and nothing more.
 */
export class WebServer {
  private server?: Server
  private readonly host: string
  private readonly port: number
  private boundPort = 0
  private app?: Promise<(req: IncomingMessage, res: ServerResponse) => Promise<void>>

  constructor (private readonly init: WebServerInit) {
    const { host, port } = parseListen(init.listen)
    this.host = host
    this.port = port
  }

  /** Where the server answers (once started). */
  get url (): string {
    // a wildcard listen is reached from this machine at its loopback address
    const reach = this.host === '0.0.0.0' ? '127.0.0.1' : this.host === '::' ? '::1' : this.host
    const host = reach.includes(':') ? `[${reach}]` : reach
    return `${this.init.tls != null ? 'https' : 'http'}://${host}:${this.boundPort}`
  }

  async start (): Promise<void> {
    if (this.server != null) return
    if (!isLoopback(this.host)) {
      if (await this.init.password?.current() == null) throw new ConfigError(`the dashboard listens on ${this.host} only with a GUI password, and none is set: keep gui.listen on 127.0.0.1 (reach it through an SSH tunnel), or set one with "holdfast gui password"`)
      if (this.init.tls == null) throw new ConfigError(`the dashboard listens on ${this.host} only over HTTPS: set gui.https to "auto" or true, or keep gui.listen on 127.0.0.1`)
    }
    const handler = (req: IncomingMessage, res: ServerResponse): void => { void this.serve(req, res) }
    const server: Server = this.init.tls != null ? createHttpsServer({ cert: this.init.tls.cert, key: this.init.tls.key, minVersion: 'TLSv1.2' }, handler) : createServer(handler)
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

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      this.app ??= this.load()
      await (await this.app)(req, res)
    } catch (err) {
      this.app = undefined
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { name: (err as Error).name, message: (err as Error).message, exitCode: 1 } }))
      } else res.destroy()
    }
  }

  private async load (): Promise<(req: IncomingMessage, res: ServerResponse) => Promise<void>> {
    const { webApp } = await import('./web-app.js')
    const assets = new Map<string, Buffer>()
    // the dashboard's files, read once (about 30 KiB); a tree without them serves the API alone
    for (const name of Object.keys(ASSET_TYPES)) {
      try { assets.set(name, await readFile(join(this.init.uiDir ?? UI_DIR, name))) } catch {}
    }
    return webApp({ apiKey: this.init.apiKey, routes: this.init.routes, mounts: this.init.mounts, metrics: this.init.metrics, assets, isLoopback, password: this.init.password, loopback: isLoopback(this.host), secure: this.init.tls != null })
  }
}
