import { watch, FSWatcher } from 'node:fs'
import { resolve, sep } from 'node:path'
import type { BackupSetConfig } from '../config/node-config.js'
import { BusyError, NotFoundError } from '../errors.js'
import { emptyCounts, SessionLog, SessionReport, SessionTrigger } from '../session/index.js'
import { CronSchedule, parseCron } from './cron.js'
import { MAX_MISSED_COUNTED, MissedRuns, missedRuns } from './missed-runs.js'
import { isPeerShortage, planRetry } from './retry-plan.js'
import { ScheduleState } from './schedule-state.js'

/** One run the scheduler asks for, and what it stands for. */
export interface ScheduledRun {
  trigger: SessionTrigger
  /** The id the run's session report gets, when the caller chose it (a run started from the dashboard). */
  id?: string
  /** The cron occurrence a schedule, catch-up or retry run stands for. */
  due?: Date
  /** Retries: which one (1, 2, ...). */
  attempt?: number
  /** One line for the report: 'catch-up of the run due at ...', 'retry 2 of the run due at ...'. */
  note?: string
  /**
   * For a run that stands for an occurrence: asked with the error when the session failed, before its
   * report is kept; says when the scheduler retries it (undefined: it does not).
   */
  retryAt?: (error: unknown) => Date | undefined
}

export interface BackupSchedulerInit {
  home: string
  sets: BackupSetConfig[]
  /**
   * Runs one session of a set (the daemon: unattended passphrase, its stores, retention after); a watch
   * session skips files younger than the set's minAgeSeconds and reports them as `deferred`.
   */
  run: (set: BackupSetConfig, run: ScheduledRun, signal: AbortSignal) => Promise<SessionReport>
  onSession?: (report: SessionReport) => void
  onError?: (err: unknown, where: string) => void
  /** Where skipped runs are recorded, and read for the history of a set the state does not know (default: the home's session log). */
  log?: SessionLog
  /** The latest occurrence handled per set (default: HOME/schedule.json). */
  state?: ScheduleState
  /**
   * First wait before retrying a scheduled run that failed for want of reachable stores; it doubles with each
   * retry up to an hour, and no retry comes at or after the set's next scheduled run. 0: no retries. Default 60 s.
   */
  retryBaseMs?: number
  /** The wall clock (default Date.now); tests move it to act out a machine that slept. */
  now?: () => number
  /** Longest single timer (default 60 s): how soon after the machine wakes a run missed meanwhile is noticed. */
  tickMs?: number
}

/**
 * Longest single timer. Timers run on the monotonic clock, which stands still while the machine sleeps:
 * short steps compared with the wall clock notice, soon after waking, a run whose time passed meanwhile.
 */
const TICK_MS = 60 * 1000
/** A scheduled run noticed this long after its time was missed (the machine slept), not merely late. */
const LATE_MS = 60 * 1000
const DEFAULT_RETRY_BASE_MS = 60 * 1000

interface SetState {
  set: BackupSetConfig
  cron?: CronSchedule
  timer?: NodeJS.Timeout
  watchers: FSWatcher[]
  settle?: NodeJS.Timeout
  rescan?: NodeJS.Timeout
  running?: { since: string, trigger: SessionTrigger }
  /** The latest cron occurrence handled (run, skipped or caught up), or when the set was first seen. */
  last?: Date
  /** A failed scheduled run waiting for its next retry. */
  retry?: { attempt: number, due: Date, at: Date, timer?: NodeJS.Timeout }
  /** A change arrived while a session ran: another one follows it. */
  dirty: boolean
  /** Watch mode's change handler. */
  changed?: () => void
}

/**
 * Runs the configured backup sets: on their cron schedules, and in watch mode (continuous protection)
 * once the changes under their paths have settled for minAgeSeconds, with a full session every
 * rescanSeconds as a safety net. A run of a set while the previous one is still under way is skipped
 * and recorded with the reason; sessions of different sets run one after the other (they share the
 * home's lock).
 *
 * Scheduled runs missed while the daemon was off or the machine asleep run once when it is back (a
 * `catch-up`, standing for the latest of them), as anacron and systemd's Persistent= timers do: the
 * latest occurrence handled per set is kept in HOME/schedule.json. A set seen for the first time counts
 * from then on (it does not catch up on its past). A scheduled run that failed for want of reachable
 * stores is retried (`retry`) after 1, 2, 4 ... times retryBaseMs, up to an hour apart, until the set's
 * next scheduled run.
 */
export class BackupScheduler {
  private readonly states: SetState[] = []
  private controller?: AbortController
  private chain: Promise<void> = Promise.resolve()
  private readonly log: SessionLog
  private readonly state: ScheduleState
  private readonly now: () => number
  private readonly tickMs: number
  private readonly retryBaseMs: number
  private running = false

  constructor (private readonly init: BackupSchedulerInit) {
    this.log = init.log ?? new SessionLog(init.home)
    this.state = init.state ?? new ScheduleState(init.home)
    this.now = init.now ?? Date.now
    this.tickMs = init.tickMs ?? TICK_MS
    this.retryBaseMs = init.retryBaseMs ?? DEFAULT_RETRY_BASE_MS
  }

  /** Starts watching and timing the sets; runs at once, as catch-ups, the scheduled runs missed meanwhile. */
  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    const states: SetState[] = this.init.sets.map(set => ({ set, dirty: false, watchers: [], ...(set.schedule !== '' ? { cron: parseCron(set.schedule) } : {}) }))
    this.states.push(...states)
    for (const state of states) if (state.set.watch) this.watchSet(state)
    const scheduled = states.filter(s => s.cron != null)
    if (scheduled.length === 0) return
    const problem = await this.state.load()
    if (problem != null) this.init.onError?.(problem, 'schedule state')
    for (const state of scheduled) {
      if (!this.running) return
      let last = await this.state.last(state.set.name, this.log).catch(err => { this.init.onError?.(err, `history of set ${state.set.name}`); return undefined })
      if (!this.running) return
      if (last == null) {
        // a set without history counts from now on: its past occurrences are not missed runs
        last = new Date(this.now())
        this.save(state, last)
      }
      state.last = last
      this.check(state, 0) // any occurrence since the last one handled was missed while the daemon was off
      this.arm(state)
    }
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.controller?.abort()
    for (const s of this.states) {
      clearTimeout(s.timer)
      clearTimeout(s.settle)
      clearTimeout(s.rescan)
      clearTimeout(s.retry?.timer)
      for (const w of s.watchers) w.close()
    }
    this.states.length = 0
    await this.chain.catch(() => {})
    await this.state.flush()
  }

  /** Each scheduled set's next run (a retry if one waits, else its next cron occurrence), for the dashboard. */
  nextRuns (): Map<string, Date> {
    const out = new Map<string, Date>()
    const now = new Date(this.now())
    for (const state of this.states) {
      if (state.cron == null) continue
      const next = state.cron.next(new Date(Math.max(now.getTime(), state.last?.getTime() ?? now.getTime())))
      out.set(state.set.name, state.retry != null && state.retry.at < next ? state.retry.at : next)
    }
    return out
  }

  /**
   * Runs a session of the set now (trigger `manual`, after the sessions of other sets under way), through
   * the same path as its scheduled runs: NotFoundError when no set has that name, BusyError when a session
   * of the set is under way or waiting its turn. `done` settles with the session's report.
   */
  runNow (name: string, options: { id?: string } = {}): { done: Promise<SessionReport> } {
    const state = this.states.find(s => s.set.name === name)
    if (!this.running || state == null) throw new NotFoundError(`no backup set named ${JSON.stringify(name)}`)
    if (state.running != null) throw new BusyError(`a ${state.running.trigger} session of set ${name} is under way (started ${state.running.since}); cancel it or wait until it ends`)
    return { done: this.fire(state, { trigger: 'manual', ...(options.id != null ? { id: options.id } : {}) }) }
  }

  /** Sets with a session under way now. */
  runningSets (): string[] {
    return this.states.filter(s => s.running != null).map(s => s.set.name)
  }

  /** The next look at the set's schedule: at its next occurrence, or sooner (a tick, see TICK_MS). */
  private arm (state: SetState): void {
    if (state.cron == null || !this.running) return
    const now = this.now()
    const next = state.cron.next(new Date(Math.max(now, state.last?.getTime() ?? now)))
    const wait = Math.max(0, next.getTime() - now)
    state.timer = setTimeout(() => {
      if (!this.running) return
      // the next look is armed now, not after the run: a run still under way then is skipped, and recorded
      this.check(state, LATE_MS)
      this.arm(state)
    }, Math.min(wait, this.tickMs))
    state.timer.unref?.()
  }

  /**
   * Runs the set once if one or more of its occurrences fell since the last one handled: as `schedule`
   * when the latest is at most `lateMs` old (the timer fired on time), as `catch-up` otherwise.
   */
  private check (state: SetState, lateMs: number): void {
    if (state.cron == null || state.last == null || !this.running) return
    const now = new Date(this.now())
    if (state.last.getTime() > now.getTime() + LATE_MS) {
      // the clock was set back: count from now, or the set would wait until the clock passes its last run again
      state.last = now
      this.save(state, now)
      return
    }
    const missed = missedRuns(state.cron, state.last, now)
    if (missed == null) return
    const due = missed.last
    state.last = due
    this.save(state, due)
    this.cancelRetry(state) // a newer occurrence takes over from the retries of an older one
    const late = now.getTime() - due.getTime() > lateMs
    this.fire(state, late ? { trigger: 'catch-up', due, note: catchUpNote(missed) } : { trigger: 'schedule', due }).catch(() => {})
  }

  private save (state: SetState, last: Date): void {
    this.state.record(state.set.name, last).catch(err => this.init.onError?.(err, `schedule state of set ${state.set.name}`))
  }

  /** Plans the next retry of a scheduled run that failed (called before its report is kept); undefined: none. */
  private planRetry (state: SetState, run: ScheduledRun, err: unknown): Date | undefined {
    if (run.due == null || state.cron == null || !this.running || !isPeerShortage(err)) return undefined
    const attempt = (run.attempt ?? 0) + 1
    const now = new Date(this.now())
    const at = planRetry({ attempt, now, nextRun: state.cron.next(now), baseMs: this.retryBaseMs })
    if (at == null) return undefined
    this.cancelRetry(state)
    state.retry = { attempt, due: run.due, at }
    return at
  }

  private armRetry (state: SetState): void {
    const r = state.retry
    if (r == null || r.timer != null || !this.running) return
    r.timer = setTimeout(() => {
      if (!this.running || state.retry !== r) return
      if (state.running != null) {
        // another run of the set (watch mode) is under way: the retry follows it, not skipped
        r.timer = undefined
        r.at = new Date(this.now() + 1000)
        this.armRetry(state)
        return
      }
      state.retry = undefined
      this.fire(state, { trigger: 'retry', due: r.due, attempt: r.attempt, note: `retry ${r.attempt} of the run due at ${r.due.toISOString()}` }).catch(() => {})
    }, Math.max(0, r.at.getTime() - this.now()))
    r.timer.unref?.()
  }

  private cancelRetry (state: SetState): void {
    clearTimeout(state.retry?.timer)
    state.retry = undefined
  }

  private watchSet (state: SetState): void {
    const { set } = state
    const changed = (): void => {
      if (!this.running) return
      if (state.running != null) { state.dirty = true; return }
      // coalesce a burst: one session minAgeSeconds after the first change; the files changed less than
      // minAgeSeconds before it starts wait for the next one (the session reports them as deferred)
      if (state.settle != null) return
      state.settle = setTimeout(() => {
        state.settle = undefined
        this.fire(state, { trigger: 'watch' }).catch(() => {})
      }, set.minAgeSeconds * 1000)
    }
    for (const path of set.paths) {
      try {
        const w = watch(path, { recursive: true, persistent: false }, (_event, name) => {
          // the home (register, session log) may sit below a watched path: its writes are not changes
          if (name != null && isInside(resolve(path, String(name)), this.init.home)) return
          changed()
        })
        w.on('error', err => this.init.onError?.(err, `watching ${path} for set ${set.name}`))
        state.watchers.push(w)
      } catch (err) {
        this.init.onError?.(err, `watching ${path} for set ${set.name}`)
      }
    }
    const rescan = (): void => {
      state.rescan = setTimeout(() => { this.fire(state, { trigger: 'watch' }).catch(() => {}).finally(() => { if (this.running) rescan() }) }, set.rescanSeconds * 1000)
      state.rescan.unref?.()
    }
    rescan()
    state.changed = changed
  }

  private async fire (state: SetState, run: ScheduledRun): Promise<SessionReport> {
    const { trigger } = run
    if (state.running != null) {
      const report = skipped(state.set, run, `the previous ${state.running.trigger} run of set ${state.set.name} (started ${state.running.since}) is still under way`)
      await this.log.append(report).catch(err => this.init.onError?.(err, 'session log'))
      this.init.onSession?.(report)
      return report
    }
    state.running = { since: new Date().toISOString(), trigger }
    state.dirty = false
    const job = this.chain.then(async () => {
      if (!this.running) return skipped(state.set, run, 'the daemon is stopping')
      const retryAt = run.due != null && this.retryBaseMs > 0 ? (err: unknown) => this.planRetry(state, run, err) : undefined
      return await this.init.run(state.set, { ...run, ...(retryAt != null ? { retryAt } : {}) }, this.controller!.signal)
    })
    this.chain = job.then(() => {}, () => {})
    try {
      const report = await job
      this.init.onSession?.(report)
      if ((report.deferred ?? 0) > 0) state.dirty = true // another session once they have settled
      return report
    } catch (err) {
      this.init.onError?.(err, `session of set ${state.set.name}`)
      throw err
    } finally {
      state.running = undefined
      this.armRetry(state)
      // changes seen during the session get a session of their own, after the minimum age
      if (state.dirty && this.running) { state.dirty = false; state.changed?.() }
    }
  }
}

function skipped (set: BackupSetConfig, run: ScheduledRun, reason: string): SessionReport {
  const now = new Date().toISOString()
  return {
    id: SessionLog.newId(),
    set: set.name,
    trigger: run.trigger,
    ...(run.due != null ? { due: run.due.toISOString() } : {}),
    ...(run.attempt != null ? { attempt: run.attempt } : {}),
    ...(run.note != null ? { note: run.note } : {}),
    status: 'skipped', reason, paths: set.paths, started: now, ended: now,
    counts: emptyCounts(), bytesRead: 0, bytesAdded: 0, bytesStored: 0, warnings: [], errors: [], warningsTotal: 0, errorsTotal: 0
  }
}

function catchUpNote (missed: MissedRuns): string {
  const due = missed.last.toISOString()
  if (missed.count === 1) return `catch-up of the run due at ${due}`
  const count = missed.count >= MAX_MISSED_COUNTED ? `${MAX_MISSED_COUNTED} or more` : String(missed.count)
  return `catch-up of the run due at ${due}; ${count} runs missed since ${missed.first.toISOString()}, run once`
}

function isInside (path: string, dir: string): boolean {
  const d = resolve(dir)
  return path === d || path.startsWith(d + sep)
}
