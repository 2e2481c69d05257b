import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ScheduleStateError } from '../errors.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import { SessionLog } from '../session/session-log.js'
import type { SessionTrigger } from '../session/session-report.js'

/** Triggers of sessions that stand for a scheduled occurrence. */
const SCHEDULED: readonly SessionTrigger[] = ['schedule', 'catch-up', 'retry']

/**
 * What the backup scheduler remembers across restarts, in HOME/schedule.json: per set, the latest cron
 * occurrence it handled (ran, caught up or skipped), or the time it first saw the set. A run missed while
 * the daemon was off is one that fell after it.
 *
 * Why a file of its own rather than the session log alone: the log keeps the last 1000 reports of all
 * sets together (a watch set can push a daily set's last report out of it), it is written when a session
 * ends (not when it starts), and it has no place for "first seen" (without which a set whose time always
 * falls while the machine sleeps would never run). The log is still read for a set the file does not
 * know, so that homes from before the file keep their history.
 */
export class ScheduleState {
  readonly path: string
  private sets: Record<string, { last: string }> = {}
  private writing: Promise<void> = Promise.resolve()

  constructor (home: string) {
    this.path = join(home, 'schedule.json')
  }

  /** Reads the file; a missing one is an empty state; an unreadable one too, with a ScheduleStateError returned. */
  async load (): Promise<Error | undefined> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      return new ScheduleStateError(`${this.path} cannot be read: ${(err as Error).message}`, { cause: err })
    }
    try {
      const v = JSON.parse(text)
      if (v?.version !== 1 || typeof v.sets !== 'object' || v.sets == null) throw new Error('not a version 1 schedule state')
      for (const [name, s] of Object.entries(v.sets as Record<string, { last?: unknown }>)) {
        if (typeof s?.last === 'string' && Number.isFinite(Date.parse(s.last))) this.sets[name] = { last: s.last }
      }
      return undefined
    } catch (err) {
      return new ScheduleStateError(`${this.path} is not valid (${(err as Error).message}): the sets start afresh`, { cause: err })
    }
  }

  /** The latest occurrence handled for the set, from the file or else from the session log; undefined: no history. */
  async last (set: string, log: SessionLog): Promise<Date | undefined> {
    const known = this.sets[set]
    if (known != null) return new Date(known.last)
    for (const r of await log.list({ set })) {
      if (!SCHEDULED.includes(r.trigger)) continue
      const t = Date.parse(r.due ?? r.started)
      if (Number.isFinite(t)) return new Date(t)
    }
    return undefined
  }

  /** Records the latest occurrence handled for the set (or its first-seen time) and writes the file. */
  async record (set: string, last: Date): Promise<void> {
    this.sets[set] = { last: last.toISOString() }
    // one write at a time (the atomic write's temporary file is per process), each with the whole state
    const write = this.writing.then(async () => {
      await writeFileAtomic(this.path, JSON.stringify({ version: 1, sets: this.sets }, null, 2) + '\n')
    })
    this.writing = write.catch(() => {})
    await write
  }

  /** Waits for the writes under way. */
  async flush (): Promise<void> {
    await this.writing
  }
}
