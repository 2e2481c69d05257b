import { watch, FSWatcher } from 'node:fs'
import { resolve, sep } from 'node:path'
import type { BackupSetConfig } from '../config/node-config.js'
import { emptyCounts, SessionLog, SessionReport, SessionTrigger } from '../session/index.js'
import { CronSchedule, parseCron } from './cron.js'

export interface BackupSchedulerInit {
  home: string
  sets: BackupSetConfig[]
  /**
   * Runs one session of a set (the daemon: unattended passphrase, its stores, retention after); a watch
   * session skips files younger than the set's minAgeSeconds and reports them as `deferred`.
   */
  run: (set: BackupSetConfig, trigger: SessionTrigger, signal: AbortSignal) => Promise<SessionReport>
  onSession?: (report: SessionReport) => void
  onError?: (err: unknown, where: string) => void
  /** Where skipped runs are recorded (default: the home's session log). */
  log?: SessionLog
}

/** Longest single timer: a far-off cron time is approached in steps (timers overflow past 2^31 ms). */
const MAX_TIMER_MS = 6 * 3600 * 1000

interface SetState {
  set: BackupSetConfig
  cron?: CronSchedule
  timer?: NodeJS.Timeout
  watchers: FSWatcher[]
  settle?: NodeJS.Timeout
  rescan?: NodeJS.Timeout
  running?: { since: string, trigger: SessionTrigger }
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
 */
export class BackupScheduler {
  private readonly states: SetState[] = []
  private controller?: AbortController
  private chain: Promise<void> = Promise.resolve()
  private readonly log: SessionLog
  private running = false

  constructor (private readonly init: BackupSchedulerInit) {
    this.log = init.log ?? new SessionLog(init.home)
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    for (const set of this.init.sets) {
      const state: SetState = { set, dirty: false, watchers: [] }
      if (set.schedule !== '') state.cron = parseCron(set.schedule)
      this.states.push(state)
      this.arm(state)
      if (set.watch) this.watchSet(state)
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
      for (const w of s.watchers) w.close()
    }
    this.states.length = 0
    await this.chain.catch(() => {})
  }

  private arm (state: SetState): void {
    if (state.cron == null || !this.running) return
    const next = state.cron.next(new Date())
    const wait = Math.max(0, next.getTime() - Date.now())
    state.timer = setTimeout(() => {
      if (!this.running) return
      if (Date.now() + 5 < next.getTime()) { this.arm(state); return } // a long wait approached in steps
      // the next time is armed now, not after the run: a run still under way then is skipped, and recorded
      this.arm(state)
      this.fire(state, 'schedule').catch(() => {})
    }, Math.min(wait, MAX_TIMER_MS))
    state.timer.unref?.()
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
        this.fire(state, 'watch').catch(() => {})
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
      state.rescan = setTimeout(() => { this.fire(state, 'watch').catch(() => {}).finally(() => { if (this.running) rescan() }) }, set.rescanSeconds * 1000)
      state.rescan.unref?.()
    }
    rescan()
    state.changed = changed
  }

  private async fire (state: SetState, trigger: SessionTrigger): Promise<SessionReport> {
    if (state.running != null) {
      const report = skipped(state.set, trigger, `the previous ${state.running.trigger} run of set ${state.set.name} (started ${state.running.since}) is still under way`)
      await this.log.append(report).catch(err => this.init.onError?.(err, 'session log'))
      this.init.onSession?.(report)
      return report
    }
    state.running = { since: new Date().toISOString(), trigger }
    state.dirty = false
    const job = this.chain.then(async () => {
      if (!this.running) return skipped(state.set, trigger, 'the daemon is stopping')
      return await this.init.run(state.set, trigger, this.controller!.signal)
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
      // changes seen during the session get a session of their own, after the minimum age
      if (state.dirty && this.running) { state.dirty = false; state.changed?.() }
    }
  }
}

function skipped (set: BackupSetConfig, trigger: SessionTrigger, reason: string): SessionReport {
  const now = new Date().toISOString()
  return {
    id: SessionLog.newId(), set: set.name, trigger, status: 'skipped', reason, paths: set.paths, started: now, ended: now,
    counts: emptyCounts(), bytesRead: 0, bytesAdded: 0, bytesStored: 0, warnings: [], errors: [], warningsTotal: 0, errorsTotal: 0
  }
}

function isInside (path: string, dir: string): boolean {
  const d = resolve(dir)
  return path === d || path.startsWith(d + sep)
}
