import { AbortedError } from '../errors.js'

/**
 * Gathers the first `k` good results out of candidates tried in a ranked order (the shards of a pack,
 * best store first): `k` fetches start at once; each failure starts the next candidate; when the fetches
 * in flight have run longer than `hedgeMs` without completing the set, one spare candidate starts (at
 * most `spares` of them), so that one slow or silent peer costs a restore a short delay, not a timeout.
 * As soon as k results are in, the fetches still under way are aborted through their signal.
 *
 * Knows nothing of stores or shards: `fetch` returns a result, or null with a problem noted by the caller.
 */
export interface FirstKOptions {
  signal?: AbortSignal
  /** Start a spare fetch when the set is still incomplete this long after the last start (ms). */
  hedgeMs?: number
  /** Most spare fetches started by hedging (failures start replacements regardless). */
  spares?: number
}

export async function firstK<T> (
  order: number[],
  k: number,
  fetch: (index: number, signal: AbortSignal) => Promise<T | null>,
  options: FirstKOptions = {}
): Promise<Map<number, T>> {
  const caller = options.signal
  if (caller?.aborted === true) throw new AbortedError('operation aborted', { cause: caller.reason })
  const cancel = new AbortController()
  const signal = caller != null ? AbortSignal.any([caller, cancel.signal]) : cancel.signal
  const got = new Map<number, T>()
  const hedgeMs = options.hedgeMs ?? Infinity
  let spares = options.spares ?? 0
  let next = 0
  let inflight = 0
  let settled = false
  let timer: ReturnType<typeof setTimeout> | undefined

  return await new Promise<Map<number, T>>((resolve, reject) => {
    const finish = (error?: Error): void => {
      if (settled) return
      settled = true
      if (timer != null) clearTimeout(timer)
      caller?.removeEventListener('abort', onAbort)
      cancel.abort(new AbortedError('enough results'))
      if (error != null) reject(error)
      else resolve(got)
    }
    const onAbort = (): void => { finish(new AbortedError('operation aborted', { cause: caller?.reason })) }
    caller?.addEventListener('abort', onAbort, { once: true })

    const arm = (): void => {
      if (timer != null) clearTimeout(timer)
      timer = undefined
      if (!Number.isFinite(hedgeMs) || spares <= 0 || next >= order.length) return
      timer = setTimeout(() => {
        timer = undefined
        if (settled || spares <= 0 || next >= order.length) return
        spares--
        start()
        arm()
      }, hedgeMs)
    }

    const done = (): void => {
      if (settled) return
      if (got.size >= k) { finish(); return }
      while (got.size + inflight < k && next < order.length) start()
      if (inflight === 0) finish()
    }

    function start (): void {
      const index = order[next++]
      inflight++
      fetch(index, signal).then((result) => {
        inflight--
        if (!settled && result != null && got.size < k) got.set(index, result)
        done()
      }, (err: unknown) => {
        inflight--
        if (caller?.aborted === true) { finish(new AbortedError('operation aborted', { cause: caller.reason })); return }
        if (!settled && !(err instanceof Error && err.name === 'AbortedError')) { finish(err as Error); return }
        done()
      })
      arm()
    }

    done()
    if (!settled) arm()
  })
}
