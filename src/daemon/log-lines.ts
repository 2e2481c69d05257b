import type { ScrubPass } from '../host/index.js'
import type { SessionReport } from '../session/index.js'
import type { MaintenanceRound } from './maintenance-scheduler.js'

/**
 * The daemon's log lines for what it ran on its own, as its output prints them and the dashboard's log
 * shows them (without the "holdfast daemon: " prefix).
 */
export function sessionLine (r: SessionReport): string {
  return `${r.trigger} session of set ${r.set ?? '-'}: ${r.status}${r.snapshot != null ? `, snapshot ${r.snapshot.slice(0, 8)}` : ''}${r.reason != null ? ` (${r.reason})` : ''}${r.note != null ? `; ${r.note}` : ''}${r.nextRetry != null ? `; next retry at ${r.nextRetry}` : ''}`
}

/** The lines worth printing about a maintenance round (none when it found nothing to say). */
export function maintenanceLines (round: MaintenanceRound): Array<{ level: 'info' | 'warning', message: string }> {
  const out: Array<{ level: 'info' | 'warning', message: string }> = []
  const failed = round.audit?.problems.filter(p => p.outcome === 'fail').length ?? 0
  const placed = round.repair?.repaired.reduce((n, r) => n + r.placed.length, 0) ?? 0
  const notRepaired = round.repair?.failed.length ?? 0
  if ((round.records?.copied ?? 0) > 0) out.push({ level: 'info', message: `${round.records!.copied} record copies put on peers that lacked them` })
  if ((round.records?.replaced ?? 0) > 0) out.push({ level: 'info', message: `${round.records!.replaced} damaged record copies replaced (of ${round.records!.verified} checked)` })
  if ((round.records?.lost.length ?? 0) > 0) out.push({ level: 'warning', message: `warning: ${round.records!.lost.length} records have no readable copy on any peer online` })
  if (failed + placed + notRepaired > 0) {
    out.push({ level: failed > 0 || notRepaired > 0 ? 'warning' : 'info', message: `audited ${round.audit?.shards ?? 0} shards, ${failed} lost; repaired ${round.repair?.repaired.length ?? 0} packs (${placed} shards regenerated)${notRepaired > 0 ? `, ${notRepaired} not repaired yet` : ''}` })
  }
  return out
}

/** The line about a scrub pass that found damage (undefined when it found none). */
export function scrubLine (pass: ScrubPass): string | undefined {
  if (pass.damaged.length === 0) return undefined
  return `scrub re-hashed ${pass.objects} objects, ${pass.damaged.length} corrupt (removed; their owners are told at their next audit)`
}
