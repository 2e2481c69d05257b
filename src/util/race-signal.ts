/**
 * Waits for `p`, or rejects as soon as `signal` aborts (with what `onAbort` makes of the signal's reason;
 * by default the reason itself). `p` goes on: this bounds the wait, not the work. The abort listener is
 * removed either way.
 */
export async function raceSignal<T> (p: Promise<T>, signal: AbortSignal | undefined, onAbort: (reason: unknown) => unknown = (reason) => reason): Promise<T> {
  if (signal == null) return await p
  if (signal.aborted) {
    p.catch(() => {})
    throw onAbort(signal.reason)
  }
  let listener: (() => void) | undefined
  try {
    return await Promise.race([p, new Promise<never>((_resolve, reject) => {
      listener = () => { reject(onAbort(signal.reason)) }
      signal.addEventListener('abort', listener, { once: true })
    })])
  } finally {
    if (listener != null) signal.removeEventListener('abort', listener)
  }
}
