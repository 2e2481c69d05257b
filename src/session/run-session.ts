import { hostname } from 'node:os'
import { AbortedError, HookFailedError } from '../errors.js'
import type { BackupEvent, BackupOptions, BackupResult, StreamSource } from '../backup/backup.js'
import type { BackupConfig } from '../config/node-config.js'
import type { Repository } from '../repository/repository.js'
import { PathFilter, priorityRank } from '../selection/index.js'
import { notifySession } from './notify.js'
import { describeHookFailure, hookFailed, runHook } from './run-hook.js'
import { SessionLog } from './session-log.js'
import { emptyCounts, MAX_REPORT_PROBLEMS, SessionProblem, SessionReport, SessionTrigger } from './session-report.js'

/** What a session tells its caller as it goes, beside the backup's own events. */
export type SessionEvent =
  | BackupEvent
  | { type: 'session:hook', phase: 'pre' | 'post', ok: boolean, message?: string }
  | { type: 'session:notify', ok: boolean, message?: string }

export interface RunSessionOptions {
  home: string
  backup: BackupConfig
  paths: string[]
  /** The backup set's name (a set from the config); absent for `holdfast backup PATH...`. */
  set?: string
  /** The set's exclude patterns, added to backup.exclude. */
  exclude?: string[]
  trigger: SessionTrigger
  /** The report's id (default: a new one); the dashboard names a run under way by it. */
  id?: string
  /** What the session stands for, when the scheduler started it: the report's `due`, `attempt` and `note`. */
  due?: string
  attempt?: number
  note?: string
  /**
   * Asked when the session failed, with the error, before the summary is sent and the report kept: when the
   * run is retried (the report's `nextRetry`), or undefined when it is not.
   */
  retryAt?: (error: unknown) => Date | undefined
  /** Opens the repository once the pre-hook allowed the session (runSession closes it). */
  open: (signal?: AbortSignal) => Promise<Repository>
  signal?: AbortSignal
  onProgress?: (event: SessionEvent) => void
  /** Called with the open repository before the backup, and after it when it saved a snapshot. */
  before?: (repo: Repository) => Promise<void>
  after?: (repo: Repository) => Promise<void>
  /** Further backup options (tags, the daemon's pause gate, ...). */
  extra?: Partial<BackupOptions>
  /** A stream to back up instead of the paths (made when the backup starts, after the pre-hook: a command starts then). */
  source?: () => Promise<StreamSource>
  /** Where the report goes (default: the home's session log). */
  log?: SessionLog
  /** Node name for notifications (default: the host name). */
  node?: string
  /** CA trusted for SMTP over TLS (tests). */
  smtpCa?: string | Buffer
}

/**
 * One backup session as configured: pre-hook, backup (with the config's exclude rules, ignore files,
 * cache exclusion and priority order), post-hook, the summary sent as configured, then the report kept
 * in the session log. Failures end up in the report (status `failed`) and in `error`, never as an exception.
 */
export interface SessionOutcome {
  report: SessionReport
  /** The backup's own result, when it saved a snapshot. */
  result?: BackupResult
  /** The error that failed the session, for a caller that reports it its own way (the CLI's exit code). */
  error?: unknown
}

export async function runSession (options: RunSessionOptions): Promise<SessionOutcome> {
  const cfg = options.backup
  const report: SessionReport = {
    id: options.id ?? SessionLog.newId(),
    ...(options.set != null ? { set: options.set } : {}),
    trigger: options.trigger,
    ...(options.due != null ? { due: options.due } : {}),
    ...(options.attempt != null ? { attempt: options.attempt } : {}),
    ...(options.note != null ? { note: options.note } : {}),
    status: 'ok',
    paths: options.paths,
    started: new Date().toISOString(),
    ended: '',
    counts: emptyCounts(),
    bytesRead: 0,
    bytesAdded: 0,
    bytesStored: 0,
    warnings: [],
    errors: [],
    warningsTotal: 0,
    errorsTotal: 0
  }
  const emit = (e: SessionEvent): void => options.onProgress?.(e)
  const problem = (list: 'warnings' | 'errors', p: SessionProblem): void => {
    if (list === 'warnings') report.warningsTotal++; else report.errorsTotal++
    if (report[list].length < MAX_REPORT_PROBLEMS) report[list].push(p)
  }
  const env = (phase: 'pre' | 'post'): Record<string, string> => ({
    HOLDFAST_PHASE: phase,
    HOLDFAST_SESSION: report.id,
    HOLDFAST_SET: report.set ?? '',
    HOLDFAST_TRIGGER: report.trigger,
    HOLDFAST_DUE: report.due ?? '',
    HOLDFAST_HOME: options.home,
    HOLDFAST_PATHS: report.paths.join('\n'),
    HOLDFAST_STARTED: report.started,
    ...(phase === 'post'
      ? {
          HOLDFAST_STATUS: report.status,
          HOLDFAST_REASON: report.reason ?? '',
          HOLDFAST_SNAPSHOT: report.snapshot ?? '',
          HOLDFAST_FILES_NEW: String(report.counts.filesNew),
          HOLDFAST_FILES_CHANGED: String(report.counts.filesChanged),
          HOLDFAST_BYTES_READ: String(report.bytesRead),
          HOLDFAST_BYTES_STORED: String(report.bytesStored),
          HOLDFAST_ERRORS: String(report.errorsTotal)
        }
      : {})
  })
  const timeoutMs = cfg.hooks.timeoutSeconds * 1000
  let error: unknown
  let result: BackupResult | undefined

  let run = true
  if (cfg.hooks.pre !== '') {
    try {
      const r = await runHook(cfg.hooks.pre, { env: env('pre'), timeoutMs, cwd: options.home, signal: options.signal })
      if (hookFailed(r)) {
        const message = describeHookFailure('pre', r, timeoutMs)
        emit({ type: 'session:hook', phase: 'pre', ok: false, message })
        if (cfg.hooks.abortOnPreFailure) {
          run = false
          report.status = 'failed'
          report.reason = `${message} (backup.hooks.abortOnPreFailure: the session was not run)`
          problem('errors', { message })
          error = new HookFailedError(report.reason)
        } else {
          problem('warnings', { message })
        }
      } else {
        emit({ type: 'session:hook', phase: 'pre', ok: true })
      }
    } catch (err) {
      run = !cfg.hooks.abortOnPreFailure
      const message = `pre hook could not be started: ${(err as Error).message}`
      problem(run ? 'warnings' : 'errors', { message })
      if (!run) { report.status = 'failed'; report.reason = message; error = new HookFailedError(message, { cause: err }) }
    }
  }

  if (run && options.signal?.aborted !== true) {
    try {
      const { backup } = await import('../backup/index.js')
      const repo = await options.open(options.signal)
      try {
        await options.before?.(repo)
        const filter = new PathFilter({ patterns: [...cfg.exclude, ...(options.exclude ?? [])] })
        const stream = options.source != null ? await options.source() : undefined
        const res = await backup(repo, options.paths, {
          ...options.extra,
          ...(stream != null ? { stream } : {}),
          signal: options.signal,
          onProgress: emit,
          filter: { filter, ignoreFile: cfg.ignoreFile !== '' ? cfg.ignoreFile : undefined, excludeCaches: cfg.excludeCaches },
          ...(cfg.priority.length > 0 ? { priority: priorityRank(cfg.priority) } : {})
        })
        result = res
        const s = res.snapshot.summary
        report.snapshot = res.name
        report.status = res.snapshot.partial ? 'partial' : 'ok'
        report.counts = { filesNew: s.filesNew, filesChanged: s.filesChanged, filesUnchanged: s.filesUnchanged, dirs: s.dirs, errors: s.errors }
        report.bytesRead = s.bytesRead
        report.bytesAdded = s.bytesAdded
        report.bytesStored = s.bytesStored
        if (res.deferred.length > 0) report.deferred = res.deferred.length
        for (const w of res.warnings) problem('warnings', w)
        await options.after?.(repo)
      } finally {
        await repo.close()
      }
    } catch (err) {
      error = err
      report.status = 'failed'
      report.reason = isAborted(options.signal) ? cancelledReason(options.signal?.reason) : `${(err as Error).name}: ${(err as Error).message}`
      problem('errors', { message: report.reason })
    }
  } else if (run) {
    report.status = 'failed'
    report.reason = 'cancelled before the backup started'
    error = new AbortedError(report.reason)
  }

  if (cfg.hooks.post !== '') {
    try {
      // the post-hook runs even after a cancellation (it often undoes what the pre-hook did), within its timeout
      const r = await runHook(cfg.hooks.post, { env: env('post'), timeoutMs, cwd: options.home })
      const ok = !hookFailed(r)
      const message = ok ? undefined : describeHookFailure('post', r, timeoutMs)
      emit({ type: 'session:hook', phase: 'post', ok, message })
      if (message != null) problem('warnings', { message })
    } catch (err) {
      problem('warnings', { message: `post hook could not be started: ${(err as Error).message}` })
    }
  }

  if (report.status === 'failed' && options.retryAt != null) {
    const at = options.retryAt(error)
    if (at != null) report.nextRetry = at.toISOString()
  }

  const failures = await notifySession({ ...report, ended: new Date().toISOString() }, cfg.notify, { node: options.node ?? hostname(), ca: options.smtpCa })
  for (const message of failures) {
    problem('warnings', { message: `notification failed: ${message}` })
    emit({ type: 'session:notify', ok: false, message })
  }
  report.ended = new Date().toISOString()
  await (options.log ?? new SessionLog(options.home)).append(report)
  return { report, ...(result != null ? { result } : {}), ...(error != null ? { error } : {}) }
}

/** A session's reason when its signal stopped it: 'cancelled', and why when the canceller said (not a bare AbortError). */
function cancelledReason (reason: unknown): string {
  return reason instanceof Error && reason.name !== 'AbortError' && reason.message !== '' ? `cancelled (${reason.message})` : 'cancelled'
}

/** Read afresh (a check earlier in the function does not narrow it: the signal may have fired since). */
function isAborted (signal?: AbortSignal): boolean {
  return signal?.aborted === true
}
