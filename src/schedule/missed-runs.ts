import type { CronSchedule } from './cron.js'

/** Missed occurrences counted at most (the count only goes into the session's note). */
export const MAX_MISSED_COUNTED = 1000

/** The occurrences of a schedule in a span of time, when there is at least one. */
export interface MissedRuns {
  /** The earliest and the latest occurrence in the span. */
  first: Date
  last: Date
  /** How many occurred in the span, MAX_MISSED_COUNTED at most. */
  count: number
}

/**
 * The occurrences of `cron` in (after, upTo]: a scheduled run is due when there is one, and it runs once
 * for all of them, standing for the latest (as anacron and systemd's Persistent= timers do). Pure: the
 * scheduler gives the times (the last occurrence it handled, the clock).
 *
 * The latest occurrence is found by bisection over the start of the search (cron's `next` is monotone in
 * it), so a per-second schedule after a week switched off costs some 40 `next` calls, not 600 000.
 */
export function missedRuns (cron: CronSchedule, after: Date, upTo: Date): MissedRuns | undefined {
  const end = upTo.getTime()
  const first = cron.next(after)
  if (first.getTime() > end) return undefined
  // lo: a start whose next occurrence is <= end; hi: one whose next occurrence is past end (end itself)
  let lo = after.getTime()
  let hi = end
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    if (cron.next(new Date(mid)).getTime() <= end) lo = mid; else hi = mid
  }
  const last = cron.next(new Date(lo))
  let count = 1
  for (let t = first; count < MAX_MISSED_COUNTED && t.getTime() < last.getTime(); count++) t = cron.next(t)
  return { first, last, count }
}
