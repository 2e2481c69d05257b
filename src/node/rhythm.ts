/**
 * A peer's rhythm: how long it is usually away, as this node saw it. Pure; presence feeds it (each absence,
 * as long as this node watched it: only while this node itself was running) and the trust list keeps it.
 * An absence counts the time this node watched it: from when it last saw the peer online until it sees it
 * again, leaving out the time this node itself was stopped, asleep or cut off from all its peers (what it
 * watched before such a break is carried, `carriedMs`, kept with the record, and added to what it watches
 * after). A peer that came back and left again while this node was away looks like one absence; the usual
 * absence is measured the same way, so a peer whose comings and goings this node often misses has a
 * longer usual absence, and is held to it. Watched time is never more than real time: a node off half the
 * day takes about twice as long to find a host overdue, but finds it, even one usually away longer than
 * this node's own day. A peer must have been seen on a week of days before its rhythm counts.
 *
 * The record has one entry per day (UTC) on which this node saw the peer online, for the last RHYTHM_DAYS
 * days: the longest absence that ended that day (0 if none). The usual absence is the longest of those: a
 * desktop switched off every night has one of about ten hours, a NAS one of minutes, a laptop that travels
 * at weekends one of two days. A peer away much longer than that (`overdueAfter`) has probably left, and
 * pack health (src/audit/health.ts) regenerates its shards without waiting out the fixed grace when the
 * pack's margin is thin. Until the peer was seen on RHYTHM_MIN_DAYS days of the window (a new peer; a
 * peer back from weeks away; this node back after weeks off), the rhythm is unknown and only the fixed
 * graces apply.
 */
export const RHYTHM_DAYS = 14
export const RHYTHM_MIN_DAYS = 7
/** However regular a peer, an absence shorter than this is never overdue (a reboot, a router's restart). */
export const OVERDUE_SLACK_MS = 2 * 3600_000

const DAY = 24 * 3600_000

export interface Rhythm {
  /** [day (ms since the epoch / one day, UTC), longest absence that ended that day in ms], oldest first. */
  days: Array<[number, number]>
  /**
   * What this node watched of the peer's current absence before its own last break (it stopped, slept or
   * was cut off), carried until it sees the peer again: the absence it then records, and the one it holds
   * against the peer meanwhile, are what it watched before and after its breaks together.
   */
  carriedMs?: number
}

export function newRhythm (): Rhythm {
  return { days: [] }
}

/** The day (UTC) of a time, as the record counts days. */
export function rhythmDay (at: number): number {
  return Math.floor(at / DAY)
}

/**
 * The record after this node saw the peer online at `at` (and, if `absentMs` > 0, back from an absence it
 * watched that long, what it carried across its own breaks included): nothing is carried any more.
 */
export function noteAbsence (rhythm: Rhythm, at: number, absentMs = 0): Rhythm {
  if (!Number.isFinite(at) || !Number.isFinite(absentMs) || absentMs < 0) return rhythm
  const day = rhythmDay(at)
  const same = rhythm.days.find(([d]) => d === day)
  const ms = Math.max(same?.[1] ?? 0, Math.round(absentMs))
  if (same != null && same[1] === ms && rhythm.carriedMs == null) return rhythm
  // days of another window (older, or later than now: a clock that was set wrong) are dropped
  const days = rhythm.days.filter(([d]) => d > day - RHYTHM_DAYS && d < day)
  days.push([day, ms])
  days.sort((a, b) => a[0] - b[0])
  return { days }
}

/** The record after this node stopped watching an absence still going on, having watched `watchedMs` more of it. */
export function carryAbsence (rhythm: Rhythm, watchedMs: number): Rhythm {
  if (!Number.isFinite(watchedMs) || watchedMs <= 0) return rhythm
  return { ...rhythm, carriedMs: (rhythm.carriedMs ?? 0) + Math.round(watchedMs) }
}

/**
 * The peer's usual absence at `now`: the longest of the last RHYTHM_DAYS days (0 when it was never seen
 * away); undefined while fewer than RHYTHM_MIN_DAYS days of that window were watched.
 */
export function usualAbsence (rhythm: Rhythm | undefined, now: number): number | undefined {
  if (rhythm == null) return undefined
  const today = rhythmDay(now)
  let watched = 0
  let longest = 0
  for (const [day, ms] of rhythm.days) {
    if (day <= today - RHYTHM_DAYS || day > today) continue
    watched++
    if (ms > longest) longest = ms
  }
  return watched >= RHYTHM_MIN_DAYS ? longest : undefined
}

/** How long a peer whose usual absence is `usualMs` may be away before it is overdue: a quarter more, at least `slackMs` more. */
export function overdueAfter (usualMs: number, slackMs = OVERDUE_SLACK_MS): number {
  return usualMs + Math.max(slackMs, usualMs / 4)
}

/** A rhythm read from a file: checked, bounded; anything malformed is no rhythm (undefined), never an error. */
export function parseRhythm (value: unknown): Rhythm | undefined {
  const r = value as Rhythm
  if (typeof r !== 'object' || r === null || !Array.isArray(r.days)) return undefined
  const byDay = new Map<number, number>()
  for (const d of r.days) {
    if (!Array.isArray(d) || d.length !== 2 || !Number.isSafeInteger(d[0]) || typeof d[1] !== 'number' || !Number.isFinite(d[1]) || d[1] < 0) continue
    byDay.set(d[0], Math.max(byDay.get(d[0]) ?? 0, d[1]))
  }
  const days = [...byDay].sort((a, b) => a[0] - b[0]).slice(-RHYTHM_DAYS)
  const carried = r.carriedMs
  return typeof carried === 'number' && Number.isFinite(carried) && carried > 0 ? { days, carriedMs: Math.round(carried) } : { days }
}
