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

  constructor (home: string) {
    this.dir = join(home, 'sessions')
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
    for (const name of (await this.names()).reverse()) {
      if (options.limit != null && out.length >= options.limit) break
      let report: SessionReport
      try { report = JSON.parse(await readFile(join(this.dir, name), 'utf8')) } catch { continue }
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
