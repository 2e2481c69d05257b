import { updateNodeConfig } from '../config/write-node-config.js'
import { addBackupSet, changeBackupSet, removeBackupSet } from '../config/edit-backup-sets.js'
import type { BackupSetConfig, NodeConfig } from '../config/node-config.js'
import { AbortedError, BusyError, NotFoundError } from '../errors.js'
import type { BackupScheduler, ScheduledRun } from '../schedule/index.js'
import { pingHealthcheck, type PingKind } from '../session/healthcheck-ping.js'
import { RunProgressTracker, type RunProgress } from '../session/run-progress.js'
import type { SessionEvent } from '../session/run-session.js'
import { SessionLog } from '../session/session-log.js'
import type { SessionReport } from '../session/session-report.js'
import type { BackupView } from '../web/backup-routes.js'
import type { RunEvent, SetConfig } from '../web/backup-schemas.js'
import { listDir, type DirListing } from './list-dir.js'

/** A run's progress goes to the listeners at most this often (a change of phase goes at once). */
export const PROGRESS_INTERVAL_MS = 250

export interface BackupControlInit {
  home: string
  /** The daemon's scheduler now (none while no set is configured). */
  scheduler: () => BackupScheduler | undefined
  /** The sets configured now. */
  sets: () => BackupSetConfig[]
  /** Throws PassphraseNeededError when the daemon cannot open the repository (locked). */
  checkAccess: () => Promise<unknown>
  /** Applies the sets of a node config just written (the daemon restarts its scheduler with them). */
  applySets: (config: NodeConfig) => Promise<void>
  onError?: (err: unknown, where: string) => void
}

/** What one session of a set is given by the control: its id, its signal (cancel), where its events go. */
export interface SessionHooks {
  id: string
  signal: AbortSignal
  onProgress: (event: SessionEvent) => void
}

interface Run {
  tracker: RunProgressTracker
  controller: AbortController
  lastSent: number
  timer?: ReturnType<typeof setTimeout>
}

/**
 * The daemon's backups as the dashboard drives them: "Back up now" through the scheduler (a set never runs
 * twice at once), the sessions under way with their progress (throttled for the listeners), cancel, the
 * healthchecks pings of each session, and edits of the sets in node.json. A service: `stop` ends the
 * event streams (`closed`), the progress timers and the pings still on their way.
 */
export class BackupControl implements BackupView {
  private readonly active = new Map<string, Run>()
  private readonly listeners = new Set<(e: RunEvent) => void>()
  private readonly shutdown = new AbortController()
  private readonly pings = new Set<Promise<void>>()
  /** Edits of node.json, one after the other. */
  private edits: Promise<unknown> = Promise.resolve()

  constructor (private readonly init: BackupControlInit) {}

  get closed (): AbortSignal { return this.shutdown.signal }

  /** Ends the event streams and the progress timers; waits for the pings on their way (each has a timeout). */
  async stop (): Promise<void> {
    for (const run of this.active.values()) clearTimeout(run.timer)
    this.shutdown.abort()
    this.listeners.clear()
    await Promise.allSettled([...this.pings])
  }

  async backupNow (name: string): Promise<{ id: string }> {
    if (this.shutdown.signal.aborted) throw new BusyError('the daemon is stopping')
    if (!this.init.sets().some(s => s.name === name)) throw new NotFoundError(`no backup set named ${JSON.stringify(name)}`)
    await this.init.checkAccess()
    const scheduler = this.init.scheduler()
    if (scheduler == null) throw new NotFoundError(`no backup set named ${JSON.stringify(name)}`)
    const id = SessionLog.newId()
    const { done } = scheduler.runNow(name, { id })
    // listed at once (queued behind another set's session, maybe)
    this.register(id, name, 'manual')
    this.emit(id, true)
    void done.then(report => this.ended(id, report), err => this.ended(id, undefined, err))
    return { id }
  }

  runs (): RunProgress[] {
    return [...this.active.values()].map(r => r.tracker.progress)
  }

  cancel (id: string): RunProgress {
    const run = this.active.get(id)
    if (run == null) throw new NotFoundError(`no session under way with id ${JSON.stringify(id)}`)
    run.tracker.cancel()
    run.controller.abort(new AbortedError('asked from the dashboard'))
    this.emit(id, true)
    return run.tracker.progress
  }

  subscribe (listener: (e: RunEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * Runs one session of a set (any trigger; the daemon's runSet calls it): tracked under its id, cancellable,
   * pinged at its start and end when the set has a ping URL.
   */
  async session (set: BackupSetConfig, run: ScheduledRun, signal: AbortSignal, exec: (hooks: SessionHooks) => Promise<SessionReport>): Promise<SessionReport> {
    const id = run.id ?? SessionLog.newId()
    const tracked = this.active.get(id) ?? this.register(id, set.name, run.trigger)
    tracked.tracker.begin()
    this.emit(id, true)
    const started = set.ping !== '' ? this.ping(set.name, pingHealthcheck(set.ping, 'start')) : Promise.resolve()
    let report: SessionReport | undefined
    let failure: unknown
    try {
      report = await exec({
        id,
        signal: AbortSignal.any([signal, tracked.controller.signal]),
        onProgress: event => { if (tracked.tracker.apply(event, Date.now())) this.emit(id, true); else this.emit(id) }
      })
      return report
    } catch (err) {
      failure = err
      throw err
    } finally {
      if (set.ping !== '') {
        // after the start ping, never before it; the session does not wait for either
        const kind: PingKind = report != null && (report.status === 'ok' || report.status === 'partial') ? 'success' : 'fail'
        const body = kind === 'fail' ? report?.reason ?? `${(failure as Error | undefined)?.name ?? 'Error'}: ${(failure as Error | undefined)?.message ?? 'the session failed'}` : undefined
        void this.ping(set.name, started.then(async () => { await pingHealthcheck(set.ping, kind, { body }) }))
      }
      this.ended(id, report, failure)
    }
  }

  async addSet (body: unknown): Promise<SetConfig> {
    const config = await this.edit(raw => addBackupSet(raw, body))
    return setConfig(config, (body as { name: string }).name)
  }

  async changeSet (name: string, body: unknown): Promise<SetConfig> {
    const config = await this.edit(raw => changeBackupSet(raw, name, body))
    return setConfig(config, name)
  }

  async removeSet (name: string): Promise<void> {
    await this.edit(raw => removeBackupSet(raw, name))
  }

  async listDir (path: string, signal: AbortSignal): Promise<DirListing> {
    return await listDir(path, { signal })
  }

  /** One edit of node.json at a time, none while a session runs (the scheduler restarts with the new sets). */
  private async edit (change: Parameters<typeof updateNodeConfig>[1]): Promise<NodeConfig> {
    const job = this.edits.then(async () => {
      const busy = [...new Set([...this.active.values()].map(r => r.tracker.progress.set).concat(this.init.scheduler()?.runningSets() ?? []))]
      if (busy.length > 0) throw new BusyError(`a session of set ${busy.join(', ')} is under way: change the sets once it is over (or cancel it)`)
      const config = await updateNodeConfig(this.init.home, change)
      await this.init.applySets(config)
      return config
    })
    this.edits = job.catch(() => {})
    return await job
  }

  private register (id: string, set: string, trigger: ScheduledRun['trigger']): Run {
    const run: Run = { tracker: new RunProgressTracker({ id, set, trigger, started: new Date().toISOString() }), controller: new AbortController(), lastSent: 0 }
    this.active.set(id, run)
    return run
  }

  /** Tells the listeners of a run's progress: now, or at most every PROGRESS_INTERVAL_MS (the latest then). */
  private emit (id: string, now = false): void {
    const run = this.active.get(id)
    if (run == null || this.shutdown.signal.aborted) return
    const wait = run.lastSent + PROGRESS_INTERVAL_MS - Date.now()
    if (!now && wait > 0) {
      run.timer ??= setTimeout(() => { run.timer = undefined; this.emit(id, true) }, wait)
      return
    }
    clearTimeout(run.timer)
    run.timer = undefined
    run.lastSent = Date.now()
    this.tell({ type: 'run:progress', run: run.tracker.progress })
  }

  /** The run is over: its final event, with the session report's status (once; later calls do nothing). */
  private ended (id: string, report?: SessionReport, err?: unknown): void {
    const run = this.active.get(id)
    if (run == null) return
    this.active.delete(id)
    clearTimeout(run.timer)
    const progress = run.tracker.finish(Date.now())
    const session = report != null
      ? { id: report.id, status: report.status, ...(report.reason != null ? { reason: report.reason } : {}), ...(report.snapshot != null ? { snapshot: report.snapshot } : {}) }
      : { id, status: 'failed' as const, reason: err != null ? `${(err as Error).name}: ${(err as Error).message}` : 'the session did not run' }
    this.tell({ type: 'run:end', run: progress, session })
  }

  private tell (event: RunEvent): void {
    for (const listener of this.listeners) {
      try { listener(event) } catch (err) { this.init.onError?.(err, 'backup events') }
    }
  }

  /** A ping on its way: its failure logged (never the session's), waited for by stop. */
  private async ping (set: string, ping: Promise<void>): Promise<void> {
    const p = ping.catch(err => this.init.onError?.(err, `ping of set ${set}`))
    this.pings.add(p)
    try { await p } finally { this.pings.delete(p) }
  }
}

function setConfig (config: NodeConfig, name: string): SetConfig {
  const set = config.backup.sets.find(s => s.name === name)
  if (set == null) throw new NotFoundError(`no backup set named ${JSON.stringify(name)}`)
  return { ...set }
}
