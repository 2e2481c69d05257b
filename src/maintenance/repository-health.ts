import { packHealth, type HostPresence, type PackHealth, type RegenerateCause, type ShardRecord } from '../audit/health.js'
import { OVERDUE_SLACK_MS } from '../node/rhythm.js'
import { checkAbort } from '../util/check-abort.js'
import type { Tree, PackLayout } from '../format/format.js'
import type { Repository } from '../repository/repository.js'

/** When shards count as confirmed, and when an absent host's shards are regenerated. */
export interface HealthSettings {
  /** A shard audited (or stored) longer ago than this is unconfirmed ('stale'). Default 2 days. */
  verifiedWithinMs?: number
  /** A host offline longer than this has its shards regenerated elsewhere. Default 3 days. */
  graceMs?: number
  /** Repair once fewer good shards than this remain (k .. k + m; default autoRepairThreshold). */
  repairThreshold?: number
  /**
   * When only k of a pack's shards are on hosts seen within this, the absent hosts' shards are regenerated
   * without waiting for the grace (src/audit/health.ts). Default 1 day; Infinity turns the rule off.
   */
  urgentGraceMs?: number
  /**
   * A host away longer than its usual absence plus this is overdue; a pack one loss from k regenerates its
   * shards at once (src/audit/health.ts). Default 2 hours; Infinity turns the rule off.
   */
  overdueSlackMs?: number
}

export const HEALTH_DEFAULTS = { verifiedWithinMs: 2 * 24 * 3600_000, graceMs: 3 * 24 * 3600_000, urgentGraceMs: 24 * 3600_000, overdueSlackMs: OVERDUE_SLACK_MS }

export interface PackReport extends PackHealth {
  pack: string
  k: number
  n: number
  /** Why shards are to be regenerated (one line per shard). */
  problems: string[]
}

export interface SnapshotHealth {
  id: string
  time: string
  packs: number
  /** Packs of this snapshot by their health: how many at each number of good shards. */
  byHealth: Array<{ health: number, n: number, packs: number }>
  needsRepair: number
  unrecoverable: number
}

export interface RepositoryHealth {
  packs: PackReport[]
  snapshots: SnapshotHealth[]
  /** Packs spread over fewer sites than the rules ask (full redundancy, less protection from losing a site). */
  rebalance: Array<{ pack: string, reason: string }>
}

/**
 * The health of every pack from what this node knows (src/audit/health.ts): the last audit of each shard
 * (or when this node stored it), the stores' presence, and the time; and of every snapshot, from the packs
 * its trees and files use. Reads no shard.
 */
export async function repositoryHealth (repo: Repository, options: HealthSettings & { signal?: AbortSignal, now?: number } = {}): Promise<RepositoryHealth> {
  const packs = new Map((await packReports(repo, options)).map(p => [p.pack, p]))

  const snapshots: SnapshotHealth[] = []
  for (const { name, snapshot } of await repo.register.snapshots()) {
    checkAbort(options.signal)
    const used = await packsOf(repo, snapshot.tree, options.signal)
    const counts = new Map<string, { health: number, n: number, packs: number }>()
    let needsRepair = 0
    let unrecoverable = 0
    for (const id of used) {
      const p = packs.get(id)
      if (p == null) continue
      const key = `${p.health}/${p.n}`
      const c = counts.get(key) ?? { health: p.health, n: p.n, packs: 0 }
      c.packs++
      counts.set(key, c)
      if (p.needsRepair) needsRepair++
      if (p.unrecoverable) unrecoverable++
    }
    snapshots.push({ id: name, time: snapshot.time, packs: used.size, byHealth: [...counts.values()].sort((a, b) => b.health - a.health), needsRepair, unrecoverable })
  }
  const rebalance = [...(await repo.register.rebalanceNeeded()).entries()].filter(([id]) => packs.has(id)).map(([pack, reason]) => ({ pack, reason }))
  return { packs: [...packs.values()], snapshots, rebalance }
}

/** The health of every pack in the register. */
export async function packReports (repo: Repository, options: HealthSettings & { now?: number } = {}): Promise<PackReport[]> {
  const now = options.now ?? Date.now()
  const checks = await repo.register.shardChecks()
  const stored = await repo.register.storedTimes()
  const presence = new Map<string, HostPresence>(repo.stores.map(s => [s.id, { online: s.reachable?.() !== false, offlineSince: s.offlineSince?.(), ...s.rhythm?.() }]))
  return [...repo.register.packs.values()].map(desc => report(desc, checks.get(desc.id), stored.get(desc.id), presence, now, options))
}

function report (desc: PackLayout, checks: Map<number, { at: number, store: string, outcome: string, reason?: string }> | undefined, storedAt: number | undefined, presence: Map<string, HostPresence>, now: number, settings: HealthSettings): PackReport {
  const problems: string[] = []
  const shards: ShardRecord[] = desc.shards.map((s, index) => {
    const c = checks?.get(index)
    // an audit of the store the shard is recorded on counts; one of another store (before a move) does not
    const mine = c != null && c.store === s.store ? c : undefined
    const rec: ShardRecord = { index, peer: s.store, storedAt }
    if (mine?.outcome === 'pass') rec.lastVerified = mine.at
    if (mine?.outcome === 'fail') { rec.lost = true; problems.push(`shard ${index} on ${s.store}: ${mine.reason ?? 'failed its audit'}`) }
    return rec
  })
  const graceMs = settings.graceMs ?? HEALTH_DEFAULTS.graceMs
  const urgentGraceMs = settings.urgentGraceMs ?? HEALTH_DEFAULTS.urgentGraceMs
  const h = packHealth(shards, presence, now, {
    k: desc.k,
    m: desc.m,
    // a threshold outside k..k+m for this pack is taken as k+m
    repairThreshold: settings.repairThreshold != null && settings.repairThreshold >= desc.k && settings.repairThreshold <= desc.shards.length ? settings.repairThreshold : undefined,
    graceMs,
    verifiedWithinMs: settings.verifiedWithinMs ?? HEALTH_DEFAULTS.verifiedWithinMs,
    urgentGraceMs,
    overdueSlackMs: settings.overdueSlackMs ?? HEALTH_DEFAULTS.overdueSlackMs
  })
  for (const i of h.regenerate) {
    // (a shard that waits: the pack is at its repair threshold without it, and its host may yet return)
    const waits = h.regenerateNow.includes(i) ? '' : '; it waits, as the other shards meet the repair threshold'
    if (!problems.some(p => p.startsWith(`shard ${i} `))) problems.push(`shard ${i} on ${desc.shards[i].store}: ${regenerateReason(h.causes[i], presence.get(desc.shards[i].store), now, { graceMs, urgentGraceMs })}${waits}`)
  }
  return { ...h, pack: desc.id, k: desc.k, n: desc.shards.length, problems }
}

/** The packs a snapshot needs: those of its trees and of its files' chunks. */
async function packsOf (repo: Repository, root: string, signal?: AbortSignal): Promise<Set<string>> {
  const out = new Set<string>()
  const seen = new Set<string>()
  const stack = [root]
  while (stack.length > 0) {
    checkAbort(signal)
    const id = stack.pop()!
    if (seen.has(id)) continue
    seen.add(id)
    const loc = repo.register.blobs.get(id)
    if (loc != null) out.add(loc.pack)
    const tree: Tree = await repo.loadTree(id, { signal })
    for (const node of tree.nodes) {
      if (node.subtree != null) stack.push(node.subtree)
      for (const c of node.content ?? []) {
        const l = repo.register.blobs.get(c)
        if (l != null) out.add(l.pack)
      }
    }
  }
  return out
}

/**
 * Why a shard is regenerated, in words, by the rule that applies (packHealth's cause): gone from the
 * configuration, offline past the grace, past the urgent grace with the margin gone or one loss from it,
 * or away far longer than usual.
 */
export function regenerateReason (cause: RegenerateCause | undefined, p: HostPresence | undefined, now: number, graces: { graceMs: number, urgentGraceMs: number }): string {
  const h = (ms: number): string => ms < 3600_000 ? `${Math.max(1, Math.round(ms / 60_000))} min` : ms < 48 * 3600_000 ? `${(ms / 3600_000).toFixed(1)} h` : `${(ms / 86_400_000).toFixed(1)} days`
  const offline = p?.offlineSince != null ? `offline ${h(now - p.offlineSince)}` : 'offline'
  const watched = p?.watchedAbsenceMs != null ? `away ${h(p.watchedAbsenceMs)} while this node watched` : 'away'
  switch (cause) {
    case 'lost': return 'it was found missing or damaged'
    case 'unplaced': return 'it was never placed'
    case 'gone': return 'its store is no longer configured'
    case 'grace': return `its host has been ${offline}, past the grace of ${h(graces.graceMs)}`
    case 'urgent': return `its host has been ${offline}, past the urgent grace of ${h(graces.urgentGraceMs)}, and only k shards are left on hosts seen within it`
    case 'edge': return `its host has been ${watched}, past the urgent grace of ${h(graces.urgentGraceMs)}, one loss from the edge, and how long it is usually away is not known yet`
    case 'overdue': return `its host has been ${watched}, usually at most ${h(p?.usualAbsenceMs ?? 0)}`
    default: return 'its host has been offline too long'
  }
}
