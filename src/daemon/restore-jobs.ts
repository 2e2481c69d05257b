import { join, resolve } from 'node:path'
import type { Repository } from '../repository/repository.js'
import { NotFoundError, UsageError } from '../errors.js'
import { restore, type RestoreResult } from '../restore/index.js'
import { nodeAt } from '../browse/snapshot-path.js'
import { restoreReport, SessionLog, type SessionReport } from '../session/index.js'
import type { RestoreBody, RestoreProgress } from '../web/snapshot-schemas.js'

/** Finished restores whose progress is kept to be asked for. */
const KEPT = 50
const MAX_FAILED_SHOWN = 100

export interface RestoreJobsInit {
  /** The node's home: nothing is restored into it (its register, keys and logs are the daemon's). */
  home: string
  /** Opens the repository (the daemon's RepositoryAccess: PassphraseNeededError when it has none). */
  open: (signal?: AbortSignal) => Promise<Repository>
  /** Called as a restore starts (the daemon pauses backups meanwhile); returns what ends that. */
  begin: () => () => void
  /** Writes the restore's session report. */
  log: (report: SessionReport) => Promise<void>
  onError?: (err: unknown, where: string) => void
}

interface Job { progress: RestoreProgress, done: Promise<void> }

/**
 * The restores the dashboard starts: each runs in the daemon through the CLI's restore (plan, fetch any
 * k of n, verify, temporary files renamed into place; restore-target.ts's rules for what is in the
 * target), one path after another, with its progress kept to be asked for and its session report
 * written when it ends. `stop` aborts those under way and waits for them.
 */
export class RestoreJobs {
  private readonly jobs = new Map<string, Job>()
  private readonly controller = new AbortController()

  constructor (private readonly init: RestoreJobsInit) {}

  /** Checks the snapshot and paths (NoSuchSnapshotError, PassphraseNeededError) and starts the restore. */
  async start (body: RestoreBody): Promise<{ id: string }> {
    if (this.controller.signal.aborted) throw new UsageError('the daemon is stopping')
    const target = body.target === 'original' ? '/' : resolve(body.target)
    const home = resolve(this.init.home)
    // where each path lands: below the target with its full path
    const lands = body.paths.map(p => join(target, resolve(p)))
    if (lands.some(l => l === home || l.startsWith(`${home}/`))) throw new UsageError(`nothing is restored into the node's home ${home}: choose another folder`)
    const repo = await this.init.open(this.controller.signal)
    let snapshot
    try {
      snapshot = await repo.findSnapshot(body.snapshot)
      for (const p of body.paths) await nodeAt(repo, snapshot.snapshot.tree, p, { signal: this.controller.signal })
    } catch (err) {
      await repo.close()
      throw err
    }
    const id = SessionLog.newId()
    const progress: RestoreProgress = {
      id, snapshot: snapshot.name, paths: body.paths, target, state: 'running', started: new Date().toISOString(), ended: null,
      filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, files: 0, skipped: 0, failed: [], failedTotal: 0, error: null, session: null
    }
    const done = this.run(repo, snapshot.snapshot.tree, body, progress)
    this.jobs.set(id, { progress, done })
    this.prune()
    return { id }
  }

  /** A restore's progress (NotFoundError when this daemon has not run it, or forgot it). */
  get (id: string): RestoreProgress {
    const job = this.jobs.get(id)
    if (job == null) throw new NotFoundError(`no restore ${id} (the daemon keeps the last ${KEPT})`)
    return { ...job.progress, failed: [...job.progress.failed] }
  }

  /** Aborts the restores under way and waits for them to end (their reports say they failed). */
  async stop (): Promise<void> {
    this.controller.abort()
    await Promise.all([...this.jobs.values()].map(async j => await j.done))
  }

  private async run (repo: Repository, tree: string, body: RestoreBody, p: RestoreProgress): Promise<void> {
    const end = this.init.begin()
    const signal = this.controller.signal
    const total: Omit<RestoreResult, 'verified'> = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, failed: [], fileRecordsPeak: 0 }
    let error: Error | undefined
    try {
      for (const path of body.paths) {
        const before = { filesDone: p.filesDone, filesTotal: p.filesTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }
        const res = await restore(repo, tree, p.target, {
          path,
          overwrite: body.overwrite ?? 'if-changed',
          verify: body.verify === true,
          signal,
          onProgress: e => {
            if (e.type !== 'restore:progress') return
            p.filesDone = before.filesDone + e.filesDone
            p.filesTotal = before.filesTotal + e.filesTotal
            p.bytesDone = before.bytesDone + e.bytesDone
            p.bytesTotal = before.bytesTotal + e.bytesTotal
          }
        })
        total.files += res.files
        total.dirs += res.dirs
        total.symlinks += res.symlinks
        total.bytes += res.bytes
        total.skipped += res.skipped
        total.failed.push(...res.failed)
        total.fileRecordsPeak = Math.max(total.fileRecordsPeak, res.fileRecordsPeak)
        p.files = total.files
        p.skipped = total.skipped
        p.failedTotal = total.failed.length
        p.failed = total.failed.slice(0, MAX_FAILED_SHOWN).map(f => ({ path: f.path, reason: f.reason }))
      }
    } catch (err) {
      error = err as Error
      p.error = `${error.name}: ${error.message}`
    } finally {
      end()
      await repo.close().catch(err => this.init.onError?.(err, 'closing the repository after a restore'))
    }
    p.ended = new Date().toISOString()
    const report = restoreReport({ id: p.id, trigger: 'manual', started: p.started, ended: p.ended, snapshot: p.snapshot, paths: p.paths, target: p.target, result: total, error })
    try {
      await this.init.log(report)
      p.session = report.id
    } catch (err) {
      this.init.onError?.(err, 'writing a restore\'s session report')
    }
    p.state = error != null ? 'failed' : 'done'
  }

  private prune (): void {
    const finished = [...this.jobs.entries()].filter(([, j]) => j.progress.state !== 'running')
    for (const [id] of finished.slice(0, Math.max(0, this.jobs.size - KEPT))) this.jobs.delete(id)
  }
}
