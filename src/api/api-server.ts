import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http'
import { timingSafeEqual } from 'node:crypto'
import { connect } from 'node:net'
import { chmod, lstat, rm } from 'node:fs/promises'
import { ConfigError, HoldfastError, LockedError, TooLargeError, UsageError } from '../errors.js'

/**
 * The control API's HTTP server, on a Unix domain socket in the node's home (HOME/api.sock, mode 0600, in
 * a home that is 0700): only this user's processes can reach it, and a client that connects to that path
 * cannot be talking to anyone else, which a TCP port on 127.0.0.1 could not promise (a port named in a
 * stale daemon.json may belong to any local process by now). Every request also needs `Authorization:
 * Bearer TOKEN`, a second door; bodies are JSON of at most 1 MiB. A route answers JSON, or streams
 * newline-delimited JSON events (`{"event": ...}` lines, then `{"result": ...}` or `{"error": ...}`) for
 * long operations, so that the CLI can draw progress. A handler's error becomes `{"error": {name, message,
 * exitCode}}`; nothing a client sends can stop the server.
 */
export const MAX_API_BODY = 1024 * 1024

/** Longest socket path the platform takes (sun_path less its NUL); a longer one would be cut silently. */
export const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103

export interface RouteContext {
  body: any
  /** aborted when the client goes away (or the server stops) */
  signal: AbortSignal
  /** sends a progress event (streaming routes) */
  emit: (event: unknown) => void
}

export type RouteHandler = (ctx: RouteContext) => Promise<unknown>

/** A route that reads its request body or writes its answer as raw bytes itself (a CLI's standard input or output). */
export type RawRouteHandler = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams, signal: AbortSignal) => Promise<void>

export interface ApiServerInit {
  token: string
  /** Where the socket is made (HOME/api.sock). */
  socketPath: string
}

export class ApiServer {
  private server?: Server
  private readonly routes = new Map<string, { handler: RouteHandler, stream: boolean }>()
  private readonly rawRoutes = new Map<string, RawRouteHandler>()
  private readonly active = new Set<AbortController>()

  constructor (private readonly init: ApiServerInit) {}

  /** Registers `POST /path` (all routes are POST with a JSON body; `stream` routes answer NDJSON). */
  route (path: string, handler: RouteHandler, options: { stream?: boolean } = {}): void {
    this.routes.set(path, { handler, stream: options.stream === true })
  }

  /** Registers `POST /path` whose handler reads the raw request body or writes a raw answer itself. */
  rawRoute (path: string, handler: RawRouteHandler): void {
    this.rawRoutes.set(path, handler)
  }

  /** The socket's path, once listening. */
  get socketPath (): string {
    if (this.server == null) throw new Error('the API server is not listening')
    return this.init.socketPath
  }

  /**
   * Listens on the socket. A socket file left by a daemon that did not stop cleanly is removed, but only
   * after nothing answered on it: a live daemon there is a LockedError, a file that is not a socket a
   * ConfigError (it is not ours to delete).
   */
  async start (): Promise<void> {
    if (this.server != null) return
    const path = this.init.socketPath
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      throw new ConfigError(`the API socket path ${path} is longer than the ${MAX_SOCKET_PATH} bytes a Unix socket path may have: use a home with a shorter path`)
    }
    await removeStaleSocket(path)
    const server = createServer((req, res) => { void this.serve(req, res) })
    server.headersTimeout = 10_000
    server.requestTimeout = 0 // long operations stream for as long as they run
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ path, exclusive: true }, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    try {
      await chmod(path, 0o600)
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /** Stops listening; the socket file goes with it (closing the server unlinks it). */
  async stop (): Promise<void> {
    const server = this.server
    if (server == null) return
    this.server = undefined
    for (const c of this.active) c.abort()
    server.closeAllConnections()
    await new Promise<void>(resolve => server.close(() => resolve()))
  }

  private authorized (req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? ''
    const given = Buffer.from(header.startsWith('Bearer ') ? header.slice(7) : '')
    const want = Buffer.from(this.init.token)
    return given.length === want.length && timingSafeEqual(given, want)
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, value: unknown): void => {
      if (res.headersSent) return
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(value))
    }
    try {
      if (!this.authorized(req)) { reply(401, { error: { name: 'UnauthorizedError', message: 'missing or wrong API token' } }); req.resume(); return }
      const url = new URL(req.url ?? '/', 'http://x')
      const raw = req.method === 'POST' ? this.rawRoutes.get(url.pathname) : undefined
      if (raw != null) {
        const controller = new AbortController()
        this.active.add(controller)
        res.on('close', () => { if (!res.writableFinished) controller.abort() })
        try { await raw(req, res, url.searchParams, controller.signal) } finally { this.active.delete(controller) }
        return
      }
      const route = req.method === 'POST' ? this.routes.get(url.pathname) : undefined
      if (route == null) { reply(404, { error: { name: 'UsageError', message: `no route ${req.method ?? ''} ${req.url ?? ''}` } }); req.resume(); return }
      const body = await readBody(req)
      const controller = new AbortController()
      this.active.add(controller)
      res.on('close', () => { if (!res.writableFinished) controller.abort() })
      try {
        if (route.stream) {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' })
          const line = (v: unknown): void => { if (!res.destroyed) res.write(JSON.stringify(v) + '\n') }
          try {
            const result = await route.handler({ body, signal: controller.signal, emit: e => line({ event: e }) })
            line({ result })
          } catch (err) {
            line({ error: errorJson(err) })
          }
          res.end()
        } else {
          const result = await route.handler({ body, signal: controller.signal, emit: () => {} })
          reply(200, { result })
        }
      } finally {
        this.active.delete(controller)
      }
    } catch (err) {
      reply(err instanceof HoldfastError && err.exitCode === 2 ? 400 : 500, { error: errorJson(err) })
    }
  }
}

export function errorJson (err: unknown): { name: string, message: string, exitCode: number } {
  const e = err instanceof Error ? err : new Error(String(err))
  return { name: e.name, message: e.message, exitCode: e instanceof HoldfastError ? e.exitCode : 1 }
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_API_BODY) throw new TooLargeError(`request body over ${MAX_API_BODY} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return {}
  try { return JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { throw new UsageError('the request body is not JSON') }
}

/** Removes a socket file nothing listens on; see ApiServer.start. */
async function removeStaleSocket (path: string): Promise<void> {
  let st
  try { st = await lstat(path) } catch (err) { if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; throw err }
  if (!st.isSocket()) throw new ConfigError(`${path} exists and is not a socket: move it away so the daemon can listen there`)
  const live = await new Promise<boolean>((resolve) => {
    const sock = connect({ path })
    const timer = setTimeout(() => { sock.destroy(); resolve(true) }, 2000) // a socket that accepts but is slow is someone's
    sock.once('connect', () => { clearTimeout(timer); sock.destroy(); resolve(true) })
    sock.once('error', (err: NodeJS.ErrnoException) => { clearTimeout(timer); resolve(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT') })
  })
  if (live) throw new LockedError(`another daemon answers at ${path}: stop it first`)
  await rm(path, { force: true })
}
