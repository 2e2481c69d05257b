import { Counter, Gauge, Registry } from 'prom-client'
import type { AuditReport } from '../maintenance/audit-round.js'
import type { RepairReport } from '../maintenance/repair.js'
import type { SessionReport } from '../session/session-report.js'

/** What /metrics reads from the daemon at each scrape (cheap: nothing here reads a shard or a record). */
export interface MetricsSource {
  /** Every trusted peer (not revoked), with its readable name. */
  peers: () => Array<{ name: string, up: boolean, lastSeen?: string, hostedBytes: number, storedBytes: number }>
  /** The newest session report of each configured set (and of one-time backups, under set ""). */
  lastSessions: () => Promise<SessionReport[]>
  /** The newest successful session of each set. */
  lastSuccesses: () => Promise<SessionReport[]>
  /** Packs by health, when the register can be read now (undefined: not reported). */
  packs?: () => Promise<{ full: number, degraded: number, critical: number } | undefined>
}

/**
 * The daemon's Prometheus metrics (text format, prom-client). Gauges are read from the daemon at each
 * scrape; counters count what happened since the daemon started (Prometheus handles their reset at a
 * restart). Peer labels are the names the user gave, not peer ids.
 */
export class DaemonMetrics {
  readonly registry = new Registry()
  private readonly addedBytes: Counter
  private readonly failures: Counter<'set'>
  private readonly auditResults: Counter<'peer' | 'result'>
  private readonly repairShards: Counter
  private readonly repairBytes: Counter

  constructor (source: MetricsSource) {
    const registers = [this.registry]
    const setOf = (r: SessionReport): string => r.set ?? ''
    new Gauge({
      name: 'holdfast_backup_last_success_timestamp_seconds',
      help: 'When the last successful backup of each set ended (seconds since the epoch)',
      labelNames: ['set'],
      registers,
      collect: async function () {
        this.reset()
        for (const r of await source.lastSuccesses()) this.set({ set: setOf(r) }, Date.parse(r.ended) / 1000)
      }
    })
    new Gauge({
      name: 'holdfast_backup_duration_seconds',
      help: 'How long the last backup session of each set took',
      labelNames: ['set'],
      registers,
      collect: async function () {
        this.reset()
        for (const r of await source.lastSessions()) this.set({ set: setOf(r) }, (Date.parse(r.ended) - Date.parse(r.started)) / 1000)
      }
    })
    new Gauge({
      name: 'holdfast_backup_last_status',
      help: 'Status of the last backup session of each set (1 for the status it ended with)',
      labelNames: ['set', 'status'],
      registers,
      collect: async function () {
        this.reset()
        for (const r of await source.lastSessions()) this.set({ set: setOf(r), status: r.status }, 1)
      }
    })
    this.addedBytes = new Counter({ name: 'holdfast_backup_added_bytes_total', help: 'Bytes of new data added by backups since the daemon started', registers })
    this.failures = new Counter({ name: 'holdfast_backup_failures_total', help: 'Failed backup sessions since the daemon started', labelNames: ['set'], registers })
    new Gauge({
      name: 'holdfast_peer_up',
      help: 'Whether each trusted peer is connected now',
      labelNames: ['peer'],
      registers,
      collect () {
        this.reset()
        for (const p of source.peers()) this.set({ peer: p.name }, p.up ? 1 : 0)
      }
    })
    new Gauge({
      name: 'holdfast_peer_last_seen_timestamp_seconds',
      help: 'When each trusted peer was last seen connected',
      labelNames: ['peer'],
      registers,
      collect () {
        this.reset()
        for (const p of source.peers()) if (p.lastSeen != null) this.set({ peer: p.name }, Date.parse(p.lastSeen) / 1000)
      }
    })
    new Gauge({
      name: 'holdfast_hosted_bytes',
      help: 'Bytes this node keeps for each peer',
      labelNames: ['peer'],
      registers,
      collect () {
        this.reset()
        for (const p of source.peers()) this.set({ peer: p.name }, p.hostedBytes)
      }
    })
    new Gauge({
      name: 'holdfast_stored_bytes',
      help: 'Bytes each peer keeps for this node',
      labelNames: ['peer'],
      registers,
      collect () {
        this.reset()
        for (const p of source.peers()) this.set({ peer: p.name }, p.storedBytes)
      }
    })
    if (source.packs != null) {
      const packs = source.packs
      new Gauge({
        name: 'holdfast_packs',
        help: 'Packs by health: full (every shard good), degraded (some lost, more than k left), critical (k or fewer left)',
        labelNames: ['health'],
        registers,
        collect: async function () {
          this.reset()
          const p = await packs()
          if (p == null) return
          for (const [health, n] of Object.entries(p)) this.set({ health }, n)
        }
      })
    }
    this.auditResults = new Counter({ name: 'holdfast_audit_results_total', help: 'Audit challenges since the daemon started, by peer and result', labelNames: ['peer', 'result'], registers })
    this.repairShards = new Counter({ name: 'holdfast_repair_shards_total', help: 'Shards regenerated by repairs since the daemon started', registers })
    this.repairBytes = new Counter({ name: 'holdfast_repair_bytes_total', help: 'Bytes of shards regenerated by repairs since the daemon started', registers })
  }

  /** A backup session ended. */
  session (report: SessionReport): void {
    if (report.status === 'failed') this.failures.inc({ set: report.set ?? '' })
    this.addedBytes.inc(report.bytesAdded)
  }

  /** A maintenance round audited; `nameOf` turns a store id into the peer's name. */
  audit (report: AuditReport, nameOf: (store: string) => string): void {
    for (const s of report.stores) {
      const peer = nameOf(s.store)
      if (s.passed > 0) this.auditResults.inc({ peer, result: 'pass' }, s.passed)
      if (s.failed > 0) this.auditResults.inc({ peer, result: 'fail' }, s.failed)
      if (s.unreachable > 0) this.auditResults.inc({ peer, result: 'unreachable' }, s.unreachable)
    }
  }

  /** A repair placed shards. */
  repair (report: RepairReport): void {
    for (const r of [...report.repaired, ...report.failed, ...report.rebalanced]) {
      this.repairShards.inc(r.placed.length)
      this.repairBytes.inc(r.placed.length * (r.shardSize ?? 0))
    }
  }

  async text (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
