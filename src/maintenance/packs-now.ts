import type { Repository } from '../repository/repository.js'
import { packReports, type HealthSettings } from './repository-health.js'

/** The packs by the shards that can be fetched now: what the dashboard and the metrics show. */
export interface PacksNow {
  total: number
  /** every shard good and on a store reachable now */
  full: number
  /** some shards away or lost, more than k left */
  degraded: number
  /** k or fewer left: one more loss and the pack cannot be restored */
  critical: number
  /** shards per pack (the largest k + m when packs differ) */
  n: number
}

/**
 * Counts the packs of the register by the shards reachable now: a shard counts when its pack's health
 * does not mark it for regeneration (lost, or its host away past the grace period) and its store answers
 * now. Reads no shard.
 */
export async function packsNow (repo: Repository, settings: HealthSettings = {}, now = Date.now()): Promise<PacksNow> {
  const reports = await packReports(repo, { ...settings, now })
  const online = new Map(repo.stores.map(s => [s.id, s.reachable?.() !== false]))
  const out: PacksNow = { total: reports.length, full: 0, degraded: 0, critical: 0, n: 0 }
  for (const r of reports) {
    const desc = repo.register.packs.get(r.pack)
    if (desc == null) continue
    const regenerate = new Set(r.regenerate)
    let reachable = 0
    desc.shards.forEach((s, i) => { if (!regenerate.has(i) && online.get(s.store) === true) reachable++ })
    out.n = Math.max(out.n, r.n)
    if (reachable >= r.n) out.full++
    else if (reachable > r.k) out.degraded++
    else out.critical++
  }
  return out
}
