import { setTimeout as sleep } from 'node:timers/promises'

export interface RetryOptions {
  /** how long to keep trying, in ms; 0 (the default): one attempt */
  wait?: number
  /** pause after the first failed attempt, doubled up to maxIntervalMs (default 200 ms, 2 s) */
  intervalMs?: number
  maxIntervalMs?: number
  signal?: AbortSignal
}

/**
 * Calls `attempt` until it gives a value or `wait` ms have passed; undefined when the time ran out. For
 * things another process holds for a while (a lock, a database): polling needs no cooperation from the
 * holder, which may be on another machine. An abort of the signal rejects at once (with its reason).
 */
export async function retryUntil<T> (attempt: () => Promise<T | undefined>, options: RetryOptions = {}): Promise<T | undefined> {
  const until = Date.now() + Math.max(0, options.wait ?? 0)
  let pause = options.intervalMs ?? 200
  for (;;) {
    options.signal?.throwIfAborted()
    const got = await attempt()
    if (got !== undefined) return got
    const left = until - Date.now()
    if (left <= 0) return undefined
    await sleep(Math.min(pause, left), undefined, { signal: options.signal })
    pause = Math.min(pause * 2, options.maxIntervalMs ?? 2000)
  }
}
