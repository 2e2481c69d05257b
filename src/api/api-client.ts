import { request } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { lstat } from 'node:fs/promises'
import { DaemonNotRunningError, HoldfastError, StoreUnavailableError } from '../errors.js'
import { apiSocketPath, readApiToken } from './daemon-info.js'

/**
 * The CLI's side of the control API: connects to the daemon's Unix socket HOME/api.sock, and nowhere
 * else (not to an address read from daemon.json, which may be stale), and calls its routes with the
 * token from HOME/api.token. Errors come back as an ApiError carrying the daemon's error name, message
 * and exit code; no daemon listening on the socket is a DaemonNotRunningError.
 */
export class ApiError extends HoldfastError {
  override readonly exitCode: number
  constructor (readonly remoteName: string, message: string, exitCode: number) {
    super(message)
    this.name = remoteName
    this.exitCode = exitCode
  }
}

const MAX_RESPONSE = 64 * 1024 * 1024

export class ApiClient {
  constructor (readonly socketPath: string, private readonly token: string, private readonly home?: string) {}

  /**
   * The client of the daemon for this home, or undefined when there is no socket of this user there
   * (no daemon ever ran, or it stopped cleanly). A socket left by a daemon that died is found out by
   * `call` (DaemonNotRunningError).
   */
  static async forHome (home: string): Promise<ApiClient | undefined> {
    const path = apiSocketPath(home)
    try {
      const st = await lstat(path)
      if (!st.isSocket() || (process.getuid != null && st.uid !== process.getuid())) return undefined
    } catch {
      return undefined
    }
    let token: string
    try { token = await readApiToken(home) } catch { return undefined }
    return new ApiClient(path, token, home)
  }

  async call<T> (path: string, body: unknown = {}, options: { signal?: AbortSignal, onEvent?: (event: any) => void } = {}): Promise<T> {
    const data = Buffer.from(JSON.stringify(body))
    return await new Promise<T>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        path,
        method: 'POST',
        headers: { host: 'holdfast', authorization: `Bearer ${this.token}`, 'content-type': 'application/json', 'content-length': data.length },
        signal: options.signal
      }, res => {
        let buffered = ''
        let size = 0
        let settled = false
        const settle = (msg: any): void => {
          if (settled) return
          if (msg.event !== undefined) { options.onEvent?.(msg.event); return }
          settled = true
          if (msg.error != null) reject(new ApiError(String(msg.error.name), String(msg.error.message), Number(msg.error.exitCode ?? 1)))
          else resolve(msg.result as T)
        }
        const streaming = String(res.headers['content-type']).startsWith('application/x-ndjson')
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          size += chunk.length
          if (size > MAX_RESPONSE) { res.destroy(); reject(new HoldfastError('the daemon sent too large a response')); return }
          buffered += chunk
          if (!streaming) return
          let nl
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, nl)
            buffered = buffered.slice(nl + 1)
            if (line !== '') { try { settle(JSON.parse(line)) } catch { reject(new HoldfastError('the daemon sent a malformed answer')) } }
          }
        })
        res.on('end', () => {
          if (!streaming) { try { settle(JSON.parse(buffered)) } catch { reject(new HoldfastError(`the daemon answered ${res.statusCode ?? '?'} without JSON`)) } }
          if (!settled) reject(new HoldfastError('the daemon closed the connection before answering'))
        })
        res.on('error', reject)
      })
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (options.signal?.aborted === true) reject(err)
        else if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') reject(notRunning(this.home ?? this.socketPath, `nothing listens at ${this.socketPath}; a daemon that did not stop cleanly may have left it`))
        else reject(new StoreUnavailableError(`cannot reach the daemon at ${this.socketPath}: ${err.message}`))
      })
      req.end(data)
    })
  }

  /**
   * Sends `source` (this process's standard input) as the raw body of /pipe/stdin?id=ID, for the command
   * the /cli request with the same id runs; resolves when the daemon has answered (the command ended).
   */
  async pipeIn (id: string, source: AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        path: `/pipe/stdin?id=${id}`,
        method: 'POST',
        headers: { host: 'holdfast', authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
        signal
      }, res => { res.resume(); res.on('end', () => { resolve() }); res.on('error', reject) })
      req.on('error', (err: NodeJS.ErrnoException) => {
        // the daemon answers as soon as the command ends, which may be before all was sent (a failed command)
        if (err.code === 'EPIPE' || err.code === 'ECONNRESET') resolve(); else reject(err)
      })
      pipeline(Readable.from(source), req).catch(() => {})
    })
  }

  /** Copies the raw answer of /pipe/stdout?id=ID (the command's output) into `sink` until the command ends. */
  async pipeOut (id: string, sink: NodeJS.WritableStream, signal?: AbortSignal): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const req = request({
        socketPath: this.socketPath,
        path: `/pipe/stdout?id=${id}`,
        method: 'POST',
        headers: { host: 'holdfast', authorization: `Bearer ${this.token}`, 'content-length': 0 },
        signal
      }, res => {
        if (res.statusCode !== 200) { res.resume(); reject(new HoldfastError(`the daemon refused the output pipe (${res.statusCode ?? '?'})`)); return }
        res.on('data', (chunk: Buffer) => { if (!sink.write(chunk)) { res.pause(); sink.once('drain', () => res.resume()) } })
        res.on('end', () => { sink.off('error', onSinkError); resolve() })
        res.on('error', reject)
      })
      // the sink gone (a reader that went away): the request ends, and with it the daemon's side of the pipe
      const onSinkError = (err: Error): void => { req.destroy(err); reject(err) }
      sink.once('error', onSinkError)
      req.on('error', reject)
      req.end()
    })
  }
}

/** The error for a home whose daemon does not run, with how to start it. */
export function notRunning (home: string, why?: string): Error {
  return new DaemonNotRunningError(`no daemon runs for ${home}${why != null ? ` (${why})` : ''}: start it with "holdfast daemon --home ${home}"`)
}
