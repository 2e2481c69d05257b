/**
 * One signal for an operation: aborted when any of the given signals aborts or when `ms` pass.
 * `timedOut` tells a timeout from a caller's abort; `clear()` (in a `finally`) stops the timer and removes
 * the listeners, so nothing outlives the operation.
 */
export interface Deadline {
  readonly signal: AbortSignal
  readonly timedOut: boolean
  clear: () => void
}

export function deadline (ms: number, ...signals: Array<AbortSignal | undefined>): Deadline {
  const ac = new AbortController()
  let timedOut = false
  const parents = signals.filter((s): s is AbortSignal => s != null)
  const onAbort = (evt: Event): void => { ac.abort((evt.target as AbortSignal).reason) }
  const clear = (): void => {
    clearTimeout(timer)
    for (const s of parents) s.removeEventListener('abort', onAbort)
  }
  const timer = setTimeout(() => {
    timedOut = true
    ac.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'))
  }, ms)
  for (const s of parents) {
    if (s.aborted) {
      ac.abort(s.reason)
      break
    }
    s.addEventListener('abort', onAbort, { once: true })
  }
  if (ac.signal.aborted) clear()
  return {
    signal: ac.signal,
    get timedOut () { return timedOut },
    clear
  }
}
