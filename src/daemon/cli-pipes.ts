import type { IncomingMessage, ServerResponse } from 'node:http'
import { UsageError } from '../errors.js'

/**
 * The CLI's standard input and output, carried to a command the daemon runs for it (`backup --stdin`,
 * `dump` to standard output, on a repository whose shards are on peers). Beside its /cli request the CLI
 * opens `POST /pipe/stdin?id=ID` (its standard input as the request body) or `POST /pipe/stdout?id=ID`
 * (the answer is the command's output, raw), ID a random name it also gives the /cli request. Both
 * requests are answered when the command ends. Only the daemon's own user reaches the API socket.
 */
export type PipeEnd = 'stdin' | 'stdout'

interface Offered { stream: IncomingMessage | ServerResponse, done: () => void }

/** How long a command waits for the CLI's pipe request to arrive. */
const WAIT_MS = 15_000

export class CliPipes {
  private readonly offered = new Map<string, Offered>()
  private readonly waiting = new Map<string, (o: Offered) => void>()

  /** The raw route of one end (api-server.ts rawRoute). */
  route (end: PipeEnd) {
    return async (req: IncomingMessage, res: ServerResponse, query: URLSearchParams, signal: AbortSignal): Promise<void> => {
      const id = query.get('id') ?? ''
      if (!/^[0-9a-f]{32}$/.test(id)) {
        req.resume()
        res.writeHead(400, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: { name: 'UsageError', message: 'a pipe needs its id' } }))
        return
      }
      if (end === 'stdout') {
        req.resume()
        res.writeHead(200, { 'content-type': 'application/octet-stream' })
      }
      let finish = (): void => {}
      const ended = new Promise<void>(resolve => { finish = resolve })
      const offered: Offered = { stream: end === 'stdin' ? req : res, done: () => { finish() } }
      const key = `${end}:${id}`
      const waiter = this.waiting.get(key)
      if (waiter != null) { this.waiting.delete(key); waiter(offered) } else this.offered.set(key, offered)
      const onAbort = (): void => { finish() }
      signal.addEventListener('abort', onAbort, { once: true })
      try { await ended } finally {
        signal.removeEventListener('abort', onAbort)
        this.offered.delete(key)
      }
      if (end === 'stdin') {
        req.resume() // what the command did not read
        if (!res.headersSent) { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{}') }
      } else if (!res.writableEnded) {
        res.end()
      }
    }
  }

  /** The command's side: the stream of one end of pipe `id`, once the CLI's request is here; `done()` answers it. */
  async take (end: PipeEnd, id: string, signal: AbortSignal): Promise<Offered> {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new UsageError('a pipe needs its id')
    const key = `${end}:${id}`
    const ready = this.offered.get(key)
    if (ready != null) return ready
    return await new Promise<Offered>((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting.delete(key); reject(new UsageError(`the CLI's standard ${end === 'stdin' ? 'input' : 'output'} did not reach the daemon`)) }, WAIT_MS)
      const onAbort = (): void => { clearTimeout(timer); this.waiting.delete(key); reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiting.set(key, (o) => { clearTimeout(timer); signal.removeEventListener('abort', onAbort); resolve(o) })
    })
  }
}
