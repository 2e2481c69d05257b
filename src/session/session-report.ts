/**
 * What started a session: `manual` (`holdfast backup`), `schedule` (the set's cron time), `catch-up` (a
 * scheduled run missed while the node was asleep or off, run once when it is back), `retry` (a scheduled
 * run that failed for want of reachable stores, tried again), `watch` (watch mode).
 */
export type SessionTrigger = 'manual' | 'schedule' | 'catch-up' | 'retry' | 'watch'

/**
 * How a session ended: `ok`; `partial` (a snapshot was saved but some files could not be read);
 * `failed` (no snapshot: an error, or a failing pre-hook that aborts); `skipped` (not run at all, e.g.
 * another run of the same set was under way: see `reason`).
 */
export type SessionStatus = 'ok' | 'partial' | 'failed' | 'skipped'

export interface SessionProblem { path?: string, message: string }

/** The report of one session, as kept in the session log and sent by notifications. */
export interface SessionReport {
  /** 16 hex digits, unique per session. */
  id: string
  /**
   * What the session did: a backup (reports written before restores were logged have no kind) or a
   * restore, whose `counts.filesNew` are the files it wrote, `counts.filesUnchanged` the entries it left
   * as the target had them, `bytesRead` the bytes it restored, `snapshot` the snapshot it read.
   */
  kind?: 'backup' | 'restore'
  /** A restore's target folder ('/' for the original place). */
  target?: string
  /** A restore's figures. */
  restored?: { files: number, dirs: number, symlinks: number, bytes: number, skipped: number }
  /** The backup set's name; absent for a one-time `holdfast backup PATH...`. */
  set?: string
  trigger: SessionTrigger
  /** The cron occurrence a schedule, catch-up or retry session stands for (ISO time). */
  due?: string
  /** Retries: which one (1, 2, ...) of the run due at `due`. */
  attempt?: number
  /** What started the session, in one line, when the trigger alone does not say (catch-up, retry). */
  note?: string
  status: SessionStatus
  /** Why the session failed or was skipped, in one line. */
  reason?: string
  /** A failed scheduled run that is retried: when the next retry is (ISO time). */
  nextRetry?: string
  paths: string[]
  /** ISO times. */
  started: string
  ended: string
  /** The snapshot saved (full id), when one was. */
  snapshot?: string
  counts: { filesNew: number, filesChanged: number, filesUnchanged: number, dirs: number, errors: number }
  bytesRead: number
  bytesAdded: number
  bytesStored: number
  /** Files left for a later session because they changed less than the minimum age ago (watch mode). */
  deferred?: number
  /** At most MAX_REPORT_PROBLEMS of each; `warningsTotal` / `errorsTotal` count them all. */
  warnings: SessionProblem[]
  errors: SessionProblem[]
  warningsTotal: number
  errorsTotal: number
}

export const MAX_REPORT_PROBLEMS = 100

export function emptyCounts (): SessionReport['counts'] {
  return { filesNew: 0, filesChanged: 0, filesUnchanged: 0, dirs: 0, errors: 0 }
}
