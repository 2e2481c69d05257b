/** Longest wait between two retries of a failed scheduled run. */
export const MAX_RETRY_DELAY_MS = 3600 * 1000

/** Error names of a session that failed for want of reachable stores (peers offline, a disk unplugged). */
const PEER_SHORTAGE = new Set(['PlacementError', 'StoreUnavailableError', 'PeerUnreachableError'])

/**
 * Whether a failed session is worth retrying: it failed because too few stores could be reached, which
 * time may mend. Its cause chain is looked at too (a wrapper keeps the original as `cause`). Any other
 * failure (a wrong passphrase, a pre-hook that aborts, a missing path) would fail again the same way.
 */
export function isPeerShortage (err: unknown): boolean {
  for (let e = err, depth = 0; e != null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (PEER_SHORTAGE.has((e as Error).name)) return true
  }
  return false
}

/** The wait before retry `attempt` (1, 2, ...): base, twice that, four times, ... up to `capMs`. */
export function retryDelayMs (attempt: number, baseMs: number, capMs = MAX_RETRY_DELAY_MS): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError(`retry attempt must be 1 or more, got ${attempt}`)
  // 2^(attempt-1) grows past any cap quickly: stop doubling once there
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 52))
}

/**
 * When retry `attempt` of a failed scheduled run happens, or undefined when it does not: retries are off
 * (`baseMs` 0), or it would come at or after the set's next scheduled run, which then takes over.
 */
export function planRetry (options: { attempt: number, now: Date, nextRun?: Date, baseMs: number, capMs?: number }): Date | undefined {
  if (options.baseMs <= 0) return undefined
  const at = new Date(options.now.getTime() + retryDelayMs(options.attempt, options.baseMs, options.capMs))
  if (options.nextRun != null && at.getTime() >= options.nextRun.getTime()) return undefined
  return at
}
