import { request } from 'node:http'
import { HoldfastError, StoreUnavailableError } from '../errors.js'
import { readApiToken, readDaemonInfo } from './daemon-info.js'

/**
 * The CLI's side of the control API: finds the running daemon through HOME/daemon.json and calls its
 * routes with the token from HOME/api.token. Errors come back as an ApiError carrying the daemon's error
 * name, message and exit code.
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
  constructor (readonly url: string, private readonly token: string) {}

  /** The client of the daemon running for this home, or undefined when none runs. */
  static async forHome (home: string): Promise<ApiClient | undefined> {
    const info = await readDaemonInfo(home)
    if (info == null) return undefined
    return new ApiClient(info.api, await readApiToken(home))
  }

  async call<T> (path: string, body: unknown = {}, options: { signal?: AbortSignal, onEvent?: (event: any) => void } = {}): Promise<T> {
    const data = Buffer.from(JSON.stringify(body))
    return await new Promise<T>((resolve, reject) => {
      const req = request(new URL(path, this.url), {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', 'content-length': data.length },
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
      req.on('error', err => reject(options.signal?.aborted === true ? err : new StoreUnavailableError(`cannot reach the daemon at ${this.url}: ${err.message}`)))
      req.end(data)
    })
  }
}
