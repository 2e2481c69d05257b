import { PingFailedError } from '../errors.js'

/** Which moment of a session a ping tells: started, ended well (ok or partial), failed. */
export type PingKind = 'start' | 'success' | 'fail'

/** Each ping gives up after this long. */
export const PING_TIMEOUT_MS = 10_000
/** The reason sent with a `fail` ping is cut to this many characters (healthchecks keeps 10 KB). */
const MAX_BODY = 10_000

/** The URL a ping of this kind calls: URL/start, URL, URL/fail (the healthchecks.io convention). */
export function pingUrl (base: string, kind: PingKind): string {
  if (kind === 'success') return base
  const url = new URL(base)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${kind}`
  return url.toString()
}

/**
 * Tells a healthchecks-style monitor about a session: a POST to URL/start, URL or URL/fail whose body is
 * `body` (the reason of a failure), cut to 10 KB. Throws PingFailedError when the monitor does not answer
 * with a 2xx status within `timeoutMs`; the caller logs it, a ping never fails a session.
 */
export async function pingHealthcheck (base: string, kind: PingKind, options: { body?: string, timeoutMs?: number, signal?: AbortSignal } = {}): Promise<void> {
  const url = pingUrl(base, kind)
  const timeout = AbortSignal.timeout(options.timeoutMs ?? PING_TIMEOUT_MS)
  const signal = options.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout
  let status: number
  try {
    const res = await fetch(url, { method: 'POST', body: (options.body ?? '').slice(0, MAX_BODY), headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': 'holdfast' }, signal, redirect: 'follow' })
    status = res.status
    await res.body?.cancel().catch(() => {})
  } catch (err) {
    const why = timeout.aborted ? `no answer in ${(options.timeoutMs ?? PING_TIMEOUT_MS) / 1000} s` : (err as Error).message
    throw new PingFailedError(`ping ${kind} to ${redact(url)} failed: ${why}`, { cause: err })
  }
  if (status < 200 || status > 299) throw new PingFailedError(`ping ${kind} to ${redact(url)} answered HTTP ${status}`)
}

/** The URL without its user and password (they may be secrets), for messages. */
function redact (url: string): string {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  return u.toString()
}
