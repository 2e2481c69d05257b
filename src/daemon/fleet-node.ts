import { randomBytes } from 'node:crypto'
import { NotFoundError, UsageError } from '../errors.js'
import type { FleetAction, FleetJob, FleetNodeView, FleetSession, FleetStatus } from '../fleet/index.js'
import { overviewOf, type DaemonView } from '../web/index.js'

/**
 * What this node shows the admins it granted the role, and the jobs they start here: a backup of a set
 * (through BackupControl, as "Back up now"), an audit or a repair (the CLI's commands, run by this
 * daemon with its own passphrase). The last 20 jobs are kept in memory with their outcome.
 */
export interface FleetNodeInit {
  view: DaemonView
  profile: () => { name: string, site: string }
  /** The configured sets' names. */
  sets: () => string[]
  backupNow: (set: string) => Promise<{ id: string }>
  /** Whether a backup run is still under way. */
  running: (id: string) => boolean
  /** Runs `holdfast audit` or `holdfast repair` here; resolves with its exit code and output. */
  command: (argv: string[]) => Promise<{ code: number, lines: string[] }>
  onError?: (err: unknown, what: string) => void
}

const MAX_JOBS = 20

export class FleetNode implements FleetNodeView {
  private readonly jobs: FleetJob[] = []

  constructor (private readonly init: FleetNodeInit) {}

  async status (): Promise<FleetStatus> {
    const { view } = this.init
    const o = overviewOf({ sets: await view.sets(), peers: view.peers(), recentSessions: await view.sessions({ limit: 10 }), packs: await view.packs(), now: Date.now() })
    await this.settle()
    const { name, site } = this.init.profile()
    return {
      name,
      site,
      level: o.level,
      summary: o.summary.slice(0, 500),
      lastBackup: o.lastBackup,
      packs: o.packs,
      peers: o.peers,
      space: o.space,
      warnings: o.warnings.slice(0, 50).map(w => ({ message: w.message.slice(0, 500), action: w.action.slice(0, 500) })),
      sets: o.sets.slice(0, 50).map(s => ({ name: s.name, lastSuccess: s.lastSuccess, lastStatus: s.lastSession?.status ?? null })),
      jobs: this.jobs.map(j => ({ ...j }))
    }
  }

  async sessions (limit: number): Promise<FleetSession[]> {
    const reports = await this.init.view.sessions({ limit })
    return reports.map(r => ({
      id: r.id,
      kind: r.kind ?? 'backup',
      set: r.set ?? null,
      status: r.status,
      started: r.started,
      ended: r.ended,
      reason: r.reason?.slice(0, 1000) ?? null,
      filesTotal: r.counts != null ? r.counts.filesNew + r.counts.filesChanged + r.counts.filesUnchanged : null,
      bytesAdded: r.bytesAdded ?? null
    }))
  }

  async run (action: FleetAction, set: string | undefined): Promise<{ id: string }> {
    const started = new Date().toISOString()
    if (action === 'backup') {
      const sets = this.init.sets()
      const name = set ?? (sets.length === 1 ? sets[0] : undefined)
      if (name == null) throw new UsageError(sets.length === 0 ? 'this node has no backup set' : `which set? this node has ${sets.join(', ')}`)
      if (!sets.includes(name)) throw new NotFoundError(`no backup set named ${JSON.stringify(name)} on this node`)
      const { id } = await this.init.backupNow(name)
      this.add({ id, action, set: name, started, ended: null, status: 'running', detail: null })
      return { id }
    }
    const id = randomBytes(8).toString('hex')
    const job: FleetJob = { id, action, set: null, started, ended: null, status: 'running', detail: null }
    this.add(job)
    void this.init.command([action]).then(({ code, lines }) => {
      job.status = code === 0 ? 'ok' : code === 3 ? 'partial' : 'failed'
      job.detail = (lines.filter(l => l.trim() !== '').at(-1) ?? `exit code ${code}`).slice(0, 1000)
    }, (err: Error) => {
      job.status = 'failed'
      job.detail = err.message.slice(0, 1000)
      this.init.onError?.(err, `fleet ${action}`)
    }).finally(() => { job.ended = new Date().toISOString() })
    return { id }
  }

  /** Backup jobs that ended take their outcome from their session report. */
  private async settle (): Promise<void> {
    const open = this.jobs.filter(j => j.action === 'backup' && j.status === 'running' && !this.init.running(j.id))
    if (open.length === 0) return
    const reports = await this.init.view.sessions({ limit: 100 })
    for (const j of open) {
      const r = reports.find(s => s.id === j.id)
      if (r == null) continue
      j.status = r.status === 'ok' ? 'ok' : r.status === 'partial' ? 'partial' : 'failed'
      j.ended = r.ended
      j.detail = (r.reason ?? (r.snapshot != null ? `snapshot ${r.snapshot.slice(0, 8)}` : null))?.slice(0, 1000) ?? null
    }
  }

  private add (job: FleetJob): void {
    this.jobs.unshift(job)
    this.jobs.splice(MAX_JOBS)
  }
}
