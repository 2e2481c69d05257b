import { MAX_REPORT_PROBLEMS, type SessionReport, type SessionTrigger } from './session-report.js'

export interface RestoreOutcome {
  id: string
  trigger: SessionTrigger
  started: string
  ended: string
  snapshot: string
  paths: string[]
  target: string
  /** What was restored (absent when the restore stopped before any path was done). */
  result?: { files: number, dirs: number, symlinks: number, bytes: number, skipped: number, failed: Array<{ path: string, reason: string }> }
  /** Why the restore stopped, when it did. */
  error?: Error
}

/** A restore's session report (kind 'restore'): failed on an error, partial when some entries failed. Pure. */
export function restoreReport (o: RestoreOutcome): SessionReport {
  const r = o.result ?? { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, failed: [] }
  const status = o.error != null ? 'failed' : r.failed.length > 0 ? 'partial' : 'ok'
  return {
    id: o.id,
    kind: 'restore',
    trigger: o.trigger,
    status,
    ...(o.error != null ? { reason: `${o.error.name}: ${o.error.message}`.slice(0, 500) } : {}),
    paths: o.paths,
    target: o.target,
    started: o.started,
    ended: o.ended,
    snapshot: o.snapshot,
    counts: { filesNew: r.files, filesChanged: 0, filesUnchanged: r.skipped, dirs: r.dirs, errors: r.failed.length },
    bytesRead: r.bytes,
    bytesAdded: 0,
    bytesStored: 0,
    restored: { files: r.files, dirs: r.dirs, symlinks: r.symlinks, bytes: r.bytes, skipped: r.skipped },
    warnings: [],
    errors: r.failed.slice(0, MAX_REPORT_PROBLEMS).map(f => ({ path: f.path, message: f.reason })),
    warningsTotal: 0,
    errorsTotal: r.failed.length
  }
}
