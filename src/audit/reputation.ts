/**
 * A peer's record as a host, kept by the owner: how it does in audits, how often it is online, and where
 * it stands (good, warned, penalised). Pure: the caller feeds events and stores the record (a plain JSON
 * object); `score` weights the peer for placement.
 *
 * Events: `pass` / `fail` (an audit's verdict), `online` / `offline` (presence changes). Being offline is
 * not an audit failure: it changes availability and nothing else (the owner does not audit a peer it cannot
 * reach, and a host that is away is repaired around by pack health, src/audit/health.ts).
 *
 * Decay: every sum is weighted by 2^(-age / halfLifeMs) (DEFAULT_HALF_LIFE_MS, 7 days), so an event a
 * half-life old counts half, and an old failure fades even if no audit follows it.
 * - pass rate   = (passes + PRIOR_PASSES) / (passes + fails + PRIOR_PASSES): decayed counts, with one
 *                 prior pass so that a new peer starts at 1 and the rate is never 0;
 * - availability = (time online + PRIOR_ONLINE_MS) / (time observed + PRIOR_ONLINE_MS): decayed
 *                 milliseconds, counted from the first presence event (time before it is not observed).
 *
 * States (a warning always comes before a penalty, at least WARNING_NOTICE_MS before it):
 * - good -> warned:      any audit failure.
 * - warned -> penalised: a failure that makes PENALTY_STRIKES failures since the warning, once
 *                        WARNING_NOTICE_MS have passed since the warning (failures within the notice count
 *                        as strikes but do not penalise on their own).
 * - warned -> good:      CLEAR_PASSES passes in a row since the warning or the last failure, with the pass
 *                        rate at least CLEAR_PASS_RATE.
 * - penalised -> warned: RECOVERY_PASSES passes in a row since the penalty or the last failure, with the
 *                        pass rate at least CLEAR_PASS_RATE (then the warning clears as above).
 * Presence never changes the state.
 *
 * score = state factor (good 1, warned WARNED_SCORE_FACTOR, penalised 0) x pass rate x availability,
 * in [0, 1], and 0 only when penalised.
 *
 * Events are applied in time order; one older than the record counts as happening at the record's time.
 */
import { ConfigError, UnsupportedFormatError } from '../errors.js'

const HOUR = 3600 * 1000
const DAY = 24 * HOUR

/** Half-life of every decayed sum. */
export const DEFAULT_HALF_LIFE_MS = 7 * DAY
/** Failures since a warning that penalise (the failure that warned is not one of them). */
export const PENALTY_STRIKES = 2
/** Least time between a warning and a penalty. */
export const WARNING_NOTICE_MS = DAY
/** Passes in a row that clear a warning. */
export const CLEAR_PASSES = 10
/** Least pass rate for a warning to clear, or a penalty to be lifted. */
export const CLEAR_PASS_RATE = 0.95
/** Passes in a row that lift a penalty (back to warned). */
export const RECOVERY_PASSES = 30
/** Passes assumed before any audit, so a new peer's pass rate is 1 and no rate is ever 0. */
export const PRIOR_PASSES = 1
/** Online time assumed before any presence event, so a new peer's availability is 1 and none is ever 0. */
export const PRIOR_ONLINE_MS = HOUR
/** Score factor of a warned peer. */
export const WARNED_SCORE_FACTOR = 0.5

export type ReputationState = 'good' | 'warned' | 'penalised'

export interface ReputationEvent {
  type: 'pass' | 'fail' | 'offline' | 'online'
  /** ms since the epoch */
  at: number
}

/** A plain JSON object; times in ms since the epoch. */
export interface Reputation {
  v: 1
  state: ReputationState
  /** When the state was entered. */
  stateSince: number
  /** The time the decayed sums below are brought to. */
  at: number
  /** Decayed audit passes and failures. */
  passes: number
  fails: number
  /** Decayed milliseconds online, and observed (online or offline). */
  onlineMs: number
  observedMs: number
  /** Presence since the last online/offline event; null before the first. */
  online: boolean | null
  /** Passes since the last failure or state change. */
  streak: number
  /** Failures since the warning (state warned). */
  strikes: number
}

export interface ReputationOptions {
  /** Half-life of the decayed sums (default DEFAULT_HALF_LIFE_MS). */
  halfLifeMs?: number
}

function halfLife (options?: ReputationOptions): number {
  const h = options?.halfLifeMs ?? DEFAULT_HALF_LIFE_MS
  if (typeof h !== 'number' || !(h > 0) || !Number.isFinite(h)) throw new ConfigError(`invalid half-life ${String(h)}`)
  return h
}

function checkTime (at: number): void {
  if (typeof at !== 'number' || !Number.isFinite(at)) throw new ConfigError(`invalid time ${String(at)}`)
}

/** The record of a peer first met at `at`. */
export function newReputation (at: number): Reputation {
  checkTime(at)
  return { v: 1, state: 'good', stateSince: at, at, passes: 0, fails: 0, onlineMs: 0, observedMs: 0, online: null, streak: 0, strikes: 0 }
}

/** The record with its sums decayed (and presence accrued) to `now`; a copy. */
function advance (rec: Reputation, now: number, h: number): Reputation {
  checkTime(now)
  const t = Math.max(now, rec.at)
  const k = Math.LN2 / h
  const decay = Math.exp(-(t - rec.at) * k)
  // Integral over [rec.at, t] of the decay weight 2^(-(t - u) / h): the decayed length of the interval.
  const span = -Math.expm1(-(t - rec.at) * k) / k
  return {
    ...rec,
    at: t,
    passes: rec.passes * decay,
    fails: rec.fails * decay,
    observedMs: rec.observedMs * decay + (rec.online !== null ? span : 0),
    onlineMs: rec.onlineMs * decay + (rec.online === true ? span : 0)
  }
}

function rateOf (r: Reputation): number {
  return (r.passes + PRIOR_PASSES) / (r.passes + r.fails + PRIOR_PASSES)
}

function enter (r: Reputation, state: ReputationState, at: number): void {
  r.state = state
  r.stateSince = at
  r.streak = 0
  r.strikes = 0
}

/** The record after `event`; a new object (the given one is left as it was). */
export function updateReputation (rec: Reputation, event: ReputationEvent, options?: ReputationOptions): Reputation {
  checkTime(event?.at)
  const r = advance(rec, event.at, halfLife(options))
  const at = r.at
  switch (event.type) {
    case 'online':
    case 'offline':
      r.online = event.type === 'online'
      return r
    case 'pass':
      r.passes += 1
      r.streak += 1
      if (r.state === 'warned' && r.streak >= CLEAR_PASSES && rateOf(r) >= CLEAR_PASS_RATE) enter(r, 'good', at)
      else if (r.state === 'penalised' && r.streak >= RECOVERY_PASSES && rateOf(r) >= CLEAR_PASS_RATE) enter(r, 'warned', at)
      return r
    case 'fail':
      r.fails += 1
      r.streak = 0
      if (r.state === 'good') {
        enter(r, 'warned', at)
      } else if (r.state === 'warned') {
        r.strikes += 1
        if (r.strikes >= PENALTY_STRIKES && at - r.stateSince >= WARNING_NOTICE_MS) enter(r, 'penalised', at)
      }
      return r
    default:
      throw new ConfigError(`unknown reputation event ${String((event as { type?: unknown }).type)}`)
  }
}

/** Decayed audit pass rate at `now`, in (0, 1]. */
export function passRate (rec: Reputation, now: number, options?: ReputationOptions): number {
  return rateOf(advance(rec, now, halfLife(options)))
}

/** Decayed fraction of the observed time the peer was online, at `now`, in (0, 1]. */
export function availability (rec: Reputation, now: number, options?: ReputationOptions): number {
  const r = advance(rec, now, halfLife(options))
  return (r.onlineMs + PRIOR_ONLINE_MS) / (r.observedMs + PRIOR_ONLINE_MS)
}

/** Placement weight at `now`, in [0, 1]: 0 only when penalised. */
export function score (rec: Reputation, now: number, options?: ReputationOptions): number {
  if (rec.state === 'penalised') return 0
  const factor = rec.state === 'warned' ? WARNED_SCORE_FACTOR : 1
  return factor * passRate(rec, now, options) * availability(rec, now, options)
}

const STATES: readonly string[] = ['good', 'warned', 'penalised']

/** A record read back from JSON, checked field by field; throws UnsupportedFormatError for anything else. */
export function parseReputation (value: unknown): Reputation {
  const r = value as Record<string, unknown> | null
  const finite = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x)
  const count = (x: unknown): boolean => finite(x) && (x as number) >= 0
  if (r === null || typeof r !== 'object' || r.v !== 1 || !STATES.includes(r.state as string) ||
    !finite(r.stateSince) || !finite(r.at) || !count(r.passes) || !count(r.fails) || !count(r.onlineMs) ||
    !count(r.observedMs) || (r.onlineMs as number) > (r.observedMs as number) * (1 + 1e-9) ||
    !(r.online === null || typeof r.online === 'boolean') ||
    !Number.isSafeInteger(r.streak) || (r.streak as number) < 0 ||
    !Number.isSafeInteger(r.strikes) || (r.strikes as number) < 0) {
    throw new UnsupportedFormatError('not a version 1 reputation record')
  }
  const { v, state, stateSince, at, passes, fails, onlineMs, observedMs, online, streak, strikes } = r as unknown as Reputation
  return { v, state, stateSince, at, passes, fails, onlineMs, observedMs, online, streak, strikes }
}
