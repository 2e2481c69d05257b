import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import type { SessionReport } from './session-report.js'

/** Reports kept at most; the oldest go first. */
export const MAX_SESSION_REPORTS = 1000

/**
 * The session log: one JSON file per session report in HOME/sessions/, named
 * `<started, ms since the epoch, 15 digits>-<id>.json` so that names sort by start time. Local only (it
 * says what this node did, not what the stores hold); written atomically, at most MAX_SESSION_REPORTS kept.
 */
export class SessionLog {
  readonly dir: string
  /** Reports read before, by file name (a report's file is written once, whole, and never changed). */
  private readonly cache?: Map<string, SessionReport>

  /**
   * `cache`: keep the reports read (at most MAX_SESSION_REPORTS, those still in the log), for a reader
   * that lists often (the daemon's dashboard and metrics); each list then reads only the directory and
   * the reports new since the last. Callers must not change the reports they get.
   */
  constructor (home: string, options: { cache?: boolean } = {}) {
    this.dir = join(home, 'sessions')
    if (options.cache === true) this.cache = new Map()
  }

  static newId (): string {
    return randomBytes(8).toString('hex')
  }

  async append (report: SessionReport): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    const at = String(Date.parse(report.started)).padStart(15, '0')
    await writeFileAtomic(join(this.dir, `${at}-${report.id}.json`), JSON.stringify(report, null, 2) + '\n')
    const names = await this.names()
    for (const old of names.slice(0, Math.max(0, names.length - MAX_SESSION_REPORTS))) await rm(join(this.dir, old), { force: true })
  }

  /** Reports, newest first; `limit` of them at most; `set` only those of that set. Unreadable files are skipped. */
  async list (options: { limit?: number, set?: string } = {}): Promise<SessionReport[]> {
    const out: SessionReport[] = []
    const names = await this.names()
    if (this.cache != null) {
      // what left the log leaves the cache
      const present = new Set(names)
      for (const name of this.cache.keys()) if (!present.has(name)) this.cache.delete(name)
    }
    for (const name of names.reverse()) {
      if (options.limit != null && out.length >= options.limit) break
      let report = this.cache?.get(name)
      if (report == null) {
        try { report = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as SessionReport } catch { continue }
        if (this.cache != null && this.cache.size < MAX_SESSION_REPORTS) this.cache.set(name, report)
      }
      if (options.set != null && report.set !== options.set) continue
      out.push(report)
    }
    return out
  }

  private async names (): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter(n => /^\d{15}-[0-9a-f]{16}\.json$/.test(n)).sort()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw err
    }
  }
}
