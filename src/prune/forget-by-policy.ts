import { matchesFilter, type SnapshotFilter } from '../repository/snapshot-filter.js'
import type { Repository } from '../repository/repository.js'
import { applyPolicy, RetentionPolicy } from '../retention/index.js'
import { forgetSnapshot } from './forget.js'
import { withRepositoryLock } from '../repository/repository-lock.js'
import { prune, PruneEvent, PruneResult } from './prune.js'

export interface ForgetByPolicyResult {
  removed: string[]
  kept: Array<{ name: string, reasons: string[] }>
  /** Stores that could not be reached and still hold removed records. */
  notReached: string[]
  pruned?: PruneResult
}

/** Applies a retention policy to the repository's snapshots (per host and paths); prunes after when asked and something went. */
export async function forgetByPolicy (repo: Repository, policy: RetentionPolicy, options: { prune?: boolean, dryRun?: boolean, signal?: AbortSignal, onProgress?: (e: PruneEvent) => void, filter?: SnapshotFilter } = {}): Promise<ForgetByPolicyResult> {
  if (options.dryRun === true) return await forgetByPolicyLocked(repo, policy, options)
  return await withRepositoryLock(repo, 'exclusive', 'forget', options.signal, async () => await forgetByPolicyLocked(repo, policy, options))
}

async function forgetByPolicyLocked (repo: Repository, policy: RetentionPolicy, options: { prune?: boolean, dryRun?: boolean, signal?: AbortSignal, onProgress?: (e: PruneEvent) => void, filter?: SnapshotFilter }): Promise<ForgetByPolicyResult> {
  // the policy applies to the snapshots the filter selects (--host, --tag, --path); the others are not touched
  const all = (await repo.register.snapshots()).filter(s => matchesFilter(s.snapshot, options.filter ?? {}))
  const decided = applyPolicy(all.map(({ name, snapshot: s }) => ({ id: name, time: s.time, hostname: s.hostname, paths: s.paths, tags: s.tags, archived: s.archived })), policy)
  const result: ForgetByPolicyResult = { removed: [], kept: [], notReached: [] }
  for (const g of decided.groups) {
    for (const d of g.decisions) {
      if (d.keep) result.kept.push({ name: d.id, reasons: d.reasons })
      else result.removed.push(d.id)
    }
  }
  const notReached = new Set<string>()
  if (options.dryRun !== true) {
    for (const name of result.removed) for (const s of (await forgetSnapshot(repo, name, { signal: options.signal })).notReached) notReached.add(s)
  }
  result.notReached = [...notReached]
  if (options.prune === true && result.removed.length > 0) result.pruned = await prune(repo, { dryRun: options.dryRun, signal: options.signal, onProgress: options.onProgress })
  return result
}

/** The node config's retention section as a policy, or undefined when it sets no rule. */
export function retentionPolicy (r: { last: number, hourly: number, daily: number, weekly: number, monthly: number, yearly: number, tags: string[] }): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {}
  for (const k of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const) if (r[k] !== 0) policy[k] = r[k]
  if (r.tags.length > 0) policy.tags = r.tags
  return Object.keys(policy).length > 0 ? policy : undefined
}
