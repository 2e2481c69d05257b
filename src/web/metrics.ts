import type { AuditReport } from '../maintenance/audit-round.js'
import type { RepairReport } from '../maintenance/repair.js'
import type { SessionReport } from '../session/session-report.js'
import { PROMETHEUS_CONTENT_TYPE, renderMetrics, type MetricFamily } from './prometheus-text.js'

/** What /metrics reads from the daemon at each scrape (cheap: nothing here reads a shard or a record). */
export interface MetricsSource {
  /** Every trusted peer (not revoked), with its readable name. */
  peers: () => Array<{ name: string, up: boolean, lastSeen?: string, hostedBytes: number, storedBytes: number }>
  /** The newest session report of each set (one-time backups under set ""), and the newest successful one. */
  newestSessions: () => Promise<{ last: SessionReport[], ok: SessionReport[] }>
  /** Packs by health, when the register can be read now (null: not reported). */
  packs?: () => Promise<{ full: number, degraded: number, critical: number } | null>
}

/**
 * The daemon's Prometheus metrics. Gauges are read from the daemon at each scrape; counters count what
 * happened since the daemon started (Prometheus handles their reset at a restart). Peer labels are the
 * names the user gave, not peer ids; one-time backups have set="".
 */
export class DaemonMetrics {
  private addedBytes = 0
  private readonly failures = new Map<string, number>()
  /** `${peer}\0${result}` -> challenges */
  private readonly auditResults = new Map<string, number>()
  private repairShards = 0
  private repairBytes = 0

  constructor (private readonly source: MetricsSource) {}

  /** A backup session ended. */
  session (report: SessionReport): void {
    if (report.status === 'failed') this.failures.set(report.set ?? '', (this.failures.get(report.set ?? '') ?? 0) + 1)
    this.addedBytes += report.bytesAdded
  }

  /** A maintenance round audited; `nameOf` turns a store id into the peer's name. */
  audit (report: AuditReport, nameOf: (store: string) => string): void {
    for (const s of report.stores) {
      for (const [result, n] of [['pass', s.passed], ['fail', s.failed], ['unreachable', s.unreachable]] as const) {
        if (n === 0) continue
        const key = `${nameOf(s.store)}\0${result}`
        this.auditResults.set(key, (this.auditResults.get(key) ?? 0) + n)
      }
    }
  }

  /** A repair placed shards. */
  repair (report: RepairReport): void {
    for (const r of [...report.repaired, ...report.failed, ...report.rebalanced]) {
      this.repairShards += r.placed.length
      this.repairBytes += r.placed.length * (r.shardSize ?? 0)
    }
  }

  get contentType (): string { return PROMETHEUS_CONTENT_TYPE }

  async text (): Promise<string> {
    const s = this.source
    const setOf = (r: SessionReport): string => r.set ?? ''
    const [{ last, ok }, packs] = await Promise.all([s.newestSessions(), s.packs?.() ?? Promise.resolve(null)])
    const peers = s.peers()
    const families: MetricFamily[] = [
      { name: 'holdfast_backup_last_success_timestamp_seconds', help: 'When the last successful backup of each set ended (seconds since the epoch)', type: 'gauge', samples: ok.map(r => ({ labels: { set: setOf(r) }, value: Date.parse(r.ended) / 1000 })) },
      { name: 'holdfast_backup_duration_seconds', help: 'How long the last backup session of each set took', type: 'gauge', samples: last.map(r => ({ labels: { set: setOf(r) }, value: (Date.parse(r.ended) - Date.parse(r.started)) / 1000 })) },
      { name: 'holdfast_backup_last_status', help: 'Status of the last backup session of each set (1 for the status it ended with)', type: 'gauge', samples: last.map(r => ({ labels: { set: setOf(r), status: r.status }, value: 1 })) },
      { name: 'holdfast_backup_added_bytes_total', help: 'Bytes of new data added by backups since the daemon started', type: 'counter', samples: [{ value: this.addedBytes }] },
      { name: 'holdfast_backup_failures_total', help: 'Failed backup sessions since the daemon started', type: 'counter', samples: [...this.failures].map(([set, n]) => ({ labels: { set }, value: n })) },
      { name: 'holdfast_peer_up', help: 'Whether each trusted peer is connected now', type: 'gauge', samples: peers.map(p => ({ labels: { peer: p.name }, value: p.up ? 1 : 0 })) },
      { name: 'holdfast_peer_last_seen_timestamp_seconds', help: 'When each trusted peer was last seen connected', type: 'gauge', samples: peers.filter(p => p.lastSeen != null).map(p => ({ labels: { peer: p.name }, value: Date.parse(p.lastSeen!) / 1000 })) },
      { name: 'holdfast_hosted_bytes', help: 'Bytes this node keeps for each peer', type: 'gauge', samples: peers.map(p => ({ labels: { peer: p.name }, value: p.hostedBytes })) },
      { name: 'holdfast_stored_bytes', help: 'Bytes each peer keeps for this node', type: 'gauge', samples: peers.map(p => ({ labels: { peer: p.name }, value: p.storedBytes })) },
      { name: 'holdfast_packs', help: 'Packs by health: full (every shard reachable), degraded (some away or lost, more than k left), critical (k or fewer left)', type: 'gauge', samples: packs == null ? [] : (['full', 'degraded', 'critical'] as const).map(h => ({ labels: { health: h }, value: packs[h] })) },
      { name: 'holdfast_audit_results_total', help: 'Audit challenges since the daemon started, by peer and result', type: 'counter', samples: [...this.auditResults].map(([key, n]) => { const [peer, result] = key.split('\0'); return { labels: { peer, result }, value: n } }) },
      { name: 'holdfast_repair_shards_total', help: 'Shards regenerated or moved by repairs since the daemon started', type: 'counter', samples: [{ value: this.repairShards }] },
      { name: 'holdfast_repair_bytes_total', help: 'Bytes of shards regenerated or moved by repairs since the daemon started', type: 'counter', samples: [{ value: this.repairBytes }] }
    ]
    return renderMetrics(families)
  }
}
