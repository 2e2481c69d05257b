import { placePack, siteLimitFor, type PlacementCandidate } from '../placement/index.js'
import { parseReputation, score } from '../audit/reputation.js'
import { AbortedError } from '../errors.js'
import type { PackLayout } from '../format/format.js'
import type { Repository } from '../repository/repository.js'
import type { ShardStore } from '../store/shard-store.js'
import { packReports, type HealthSettings, type PackReport } from './repository-health.js'
import { auditShard } from './audit-round.js'
import { lockRepository } from '../repository/repository-lock.js'

export interface RepairOptions extends HealthSettings {
  signal?: AbortSignal
  /** Packs repaired at once (default 2: each holds k shards and the regenerated ones in memory). */
  concurrency?: number
  onProgress?: (event: RepairProgress) => void
  /** Stop after this many packs (rate limiting by rounds); default all. */
  maxPacks?: number
  /**
   * Leave for a later round the packs with fewer than k shards on stores reachable now (the daemon's
   * scheduled rounds: reading what is there would fail after fetching it, tick after tick). A repair run
   * by hand tries them, and says why each failed.
   */
  onlyReadable?: boolean
}

export interface RepairProgress { type: 'repair:progress', done: number, total: number }

export interface PackRepair {
  pack: string
  /** Shards regenerated and where each went. */
  placed: Array<{ index: number, store: string }>
  /** Why the pack could not be repaired (or only partly). */
  error?: string
  /** Placement could not spread the pack over sites as asked (it keeps full redundancy). */
  reducedSpread?: string
  /** Bytes of each of the pack's shards (what a placed shard cost to send). */
  shardSize?: number
}

export interface RepairReport {
  /** Packs that needed repair when the round started. */
  needed: number
  /** Shards brought back from a store's quarantine (and audited good) instead of regenerated. */
  released: number
  /** Stale copies (shards moved away by an earlier repair) deleted from stores that are back. */
  staleDeleted: number
  repaired: PackRepair[]
  failed: PackRepair[]
  /** Packs with fewer than k good shards: nothing can bring them back. */
  unrecoverable: string[]
  /** Packs marked for rebalancing whose shards were moved to spread them over the sites as asked. */
  rebalanced: PackRepair[]
}

/**
 * One repair round: every pack whose health fell below the threshold (src/audit/health.ts) is read from k
 * good shards, and the shards health names to regenerate now (regenerateNow: the lost ones, and of those
 * of absent hosts as many as bring the pack back to its threshold) are regenerated, checked against their
 * recorded names, and placed by the placement rules on stores that hold nothing else of the pack,
 * preferring other stores than the one that lost it. Each placed shard is recorded in the register
 * at once (a round interrupted keeps what it did; the next round starts from the health left).
 */
export async function repairRound (repo: Repository, options: RepairOptions = {}): Promise<RepairReport> {
  let reports = await packReports(repo, options)
  // a shard missing from its store may be in the store's quarantine (a prune that could not account for
  // it): brought back and audited before anything is regenerated
  const released = await releaseQuarantined(repo, reports, options.signal)
  if (released > 0) reports = await packReports(repo, options)
  // (onlyReadable) a pack with fewer than k shards on stores reachable now waits: a desktop asleep, say
  const reachable = new Set(repo.stores.filter(s => s.reachable?.() !== false).map(s => s.id))
  const readable = (p: PackReport): boolean => {
    const desc = repo.register.packs.get(p.pack)
    return desc != null && [...p.good, ...p.stale].filter(i => reachable.has(desc.shards[i].store)).length >= p.k
  }
  const todo = reports.filter(p => p.needsRepair && !p.unrecoverable && (options.onlyReadable !== true || readable(p))).slice(0, options.maxPacks ?? Infinity)
  const work = todo.length > 0 || (await repo.register.staleCopies()).length > 0 || (await repo.register.rebalanceNeeded()).size > 0
  if (!work) return { needed: 0, released, staleDeleted: 0, repaired: [], failed: [], unrecoverable: reports.filter(p => p.unrecoverable).map(p => p.pack), rebalanced: [] }
  // moving shards and deleting old copies is exclusive: no prune (of this home or another) meanwhile
  const lock = await lockRepository(repo, 'exclusive', 'repair', { ...repo.lockSettings, signal: options.signal })
  try {
    return { ...await repairWork(repo, reports, todo, options), released }
  } finally {
    await lock.release()
  }
}

/**
 * Asks each reachable store that lost a shard (its last audit failed, or it was never confirmed) to release
 * it from quarantine; a released shard is audited at once and counts as good only when it passes.
 * Returns how many came back good.
 */
async function releaseQuarantined (repo: Repository, reports: PackReport[], signal?: AbortSignal): Promise<number> {
  let released = 0
  for (const r of reports) {
    if (!r.needsRepair && !r.unrecoverable) continue
    const desc = repo.register.packs.get(r.pack)
    if (desc == null) continue
    const confirmed = new Set([...r.good, ...r.stale])
    for (let index = 0; index < desc.shards.length; index++) {
      if (confirmed.has(index)) continue
      const store = repo.stores.find(s => s.id === desc.shards[index].store)
      if (store?.release == null || store.reachable?.() === false) continue
      let back: boolean
      try {
        back = await store.release('shard', desc.shards[index].name, { signal })
      } catch (err) {
        if (signal?.aborted === true) throw err
        continue
      }
      if (!back) continue
      const check = await auditShard([store], desc, index, 4, signal)
      await repo.register.putShardChecks([{ pack: desc.id, index, check: { at: Date.now(), ...check } }])
      if (check.outcome === 'pass') released++
    }
  }
  return released
}

async function repairWork (repo: Repository, reports: PackReport[], todo: PackReport[], options: RepairOptions): Promise<Omit<RepairReport, 'released'>> {
  const report: Omit<RepairReport, 'released'> = { needed: todo.length, staleDeleted: await deleteStaleCopies(repo, options.signal), repaired: [], failed: [], unrecoverable: reports.filter(p => p.unrecoverable).map(p => p.pack), rebalanced: [] }
  const reputations = await repo.register.reputations()
  let next = 0
  let done = 0
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 2, todo.length) }, async () => {
    while (next < todo.length) {
      if (options.signal?.aborted === true) throw new AbortedError('repair aborted', { cause: options.signal.reason })
      const r = await repairPack(repo, todo[next++], reputations, options.signal)
      if (r.error != null) report.failed.push(r); else report.repaired.push(r)
      options.onProgress?.({ type: 'repair:progress', done: ++done, total: todo.length })
    }
  }))
  // then the packs spread over too few sites, once the sites allow a better spread
  const healthy = new Set(reports.filter(p => !p.needsRepair && !p.unrecoverable).map(p => p.pack))
  let budget = (options.maxPacks ?? Infinity) - todo.length
  for (const [pack] of await repo.register.rebalanceNeeded()) {
    if (budget <= 0) break
    if (!repo.register.packs.has(pack)) { await repo.register.clearRebalance(pack); continue }
    if (!healthy.has(pack)) continue // repair first
    const r = await rebalancePack(repo, repo.register.packs.get(pack)!, reputations, options.signal)
    if (r != null) { budget--; if (r.error == null) report.rebalanced.push(r); else report.failed.push(r) }
  }
  return report
}

/**
 * Moves shards of a pack off the sites that hold more than the site limit allows, when the stores online
 * now allow the full spread (null when they do not: the mark stays). Each moved shard is read from its
 * store and checked against its name, put on the new store, audited there, recorded, and deleted from the
 * old store.
 */
async function rebalancePack (repo: Repository, desc: PackLayout, reputations: Map<string, object>, signal?: AbortSignal): Promise<PackRepair | null> {
  const candidates = candidatesOf(repo, reputations)
  const online = candidates.filter(c => c.online)
  const limit = siteLimitFor(desc.k, desc.m, new Set(online.map(c => c.site)).size)
  if (limit == null) return null
  const siteOf = new Map(candidates.map(c => [c.id, c.site]))
  const perSite = new Map<string, number>()
  const fixed = new Map<number, string>()
  desc.shards.forEach((s, i) => {
    const site = siteOf.get(s.store) ?? s.store
    const n = perSite.get(site) ?? 0
    if (n < limit) { fixed.set(i, s.store); perSite.set(site, n + 1) }
  })
  if (fixed.size === desc.shards.length) { await repo.register.clearRebalance(desc.id); return null }
  let target: string[]
  try {
    target = placePack({ packId: desc.id, k: desc.k, m: desc.m, shardBytes: desc.shardSize, fixed, candidates }, { onShortfall: 'fail' }).peers
  } catch { return null }
  const result: PackRepair = { pack: desc.id, placed: [], shardSize: desc.shardSize }
  const oldCopies: Array<{ store: string, name: string }> = []
  try {
    try {
      for (let index = 0; index < desc.shards.length; index++) {
        if (fixed.has(index)) continue
        const from = desc.shards[index].store
        const got = await repo.fetchShard(desc, index, { signal })
        if (got.data == null) throw new Error(got.problem ?? `shard ${index} could not be read`)
        const store = repo.stores.find(s => s.id === target[index])!
        await store.put('shard', desc.shards[index].name, got.data, { signal })
        desc = await repo.relocateShard(desc, index, store.id)
        const check = await auditShard([store], desc, index, 4, signal)
        await repo.register.putShardChecks([{ pack: desc.id, index, check: { at: Date.now(), ...check } }])
        if (check.outcome !== 'pass') throw new Error(`shard ${index} put on ${store.id} did not pass its audit: ${check.reason ?? check.outcome}`)
        result.placed.push({ index, store: store.id })
        oldCopies.push({ store: from, name: desc.shards[index].name })
      }
    } finally {
      // the moves that passed their audit are committed to the stores before any old copy is deleted
      await commitMoves(repo, desc.id, result, oldCopies, signal)
    }
    await repo.register.clearRebalance(desc.id)
  } catch (err) {
    if (signal?.aborted === true) throw err
    result.error = (err as Error).message
  }
  return result
}

/**
 * Commits the shards a repair or rebalancing placed (each passed its audit) as a placement record on the
 * stores, then deletes the old copies: the stores' records say where each shard is before any copy goes.
 * When the record cannot be committed (too few stores, no node identity), the old copies stay: a spare
 * copy costs room, never data.
 */
async function commitMoves (repo: Repository, pack: string, result: PackRepair, oldCopies: Array<{ store: string, name: string }>, signal?: AbortSignal): Promise<void> {
  if (result.placed.length === 0) return
  try {
    await repo.recordPlacement(result.placed.map(p => ({ pack, shard: p.index, store: p.store })), { signal })
  } catch (err) {
    if (signal?.aborted === true) throw err
    const why = `the new places could not be recorded on the stores (${(err as Error).message}): the old copies are kept`
    result.error = result.error != null ? `${result.error}; ${why}` : why
    return
  }
  const current = repo.register.packs.get(pack)
  for (const { store: id, name } of oldCopies) {
    const old = repo.stores.find(s => s.id === id)
    // a store that holds the shard by the current placement keeps it, and so does a name another pack
    // shares (its bytes may be that pack's shard on this store)
    if (old == null || current?.shards.some(s => s.store === id && s.name === name) === true) continue
    if (repo.register.sharedShardNames().has(name)) continue
    const gone = old.reachable?.() !== false && await old.delete('shard', name, { signal }).then(() => true, () => false)
    if (!gone) await repo.register.addStaleCopy(old.id, name)
  }
}

/**
 * Deletes the stale copies left on stores that were away when a repair moved their shards, now that they
 * answer (a revoked peer is no longer a store: its copies are not ours to delete). A shard placed back on
 * the same store since is not deleted.
 */
async function deleteStaleCopies (repo: Repository, signal?: AbortSignal): Promise<number> {
  const stillUsed = new Set<string>()
  for (const desc of repo.register.packs.values()) for (const s of desc.shards) stillUsed.add(`${s.store}!${s.name}`)
  let deleted = 0
  for (const { store: id, name } of await repo.register.staleCopies()) {
    if (stillUsed.has(`${id}!${name}`)) { await repo.register.removeStaleCopy(id, name); continue }
    const store = repo.stores.find(s => s.id === id)
    if (store == null || store.reachable?.() === false) continue
    try {
      await store.delete('shard', name, { signal })
      await repo.register.removeStaleCopy(id, name)
      deleted++
    } catch (err) {
      if (signal?.aborted === true) throw err
      if ((err as Error).name === 'NotFoundError') await repo.register.removeStaleCopy(id, name)
    }
  }
  return deleted
}

async function repairPack (repo: Repository, health: PackReport, reputations: Map<string, object>, signal?: AbortSignal): Promise<PackRepair> {
  let desc = repo.register.packs.get(health.pack)!
  const before = desc
  const result: PackRepair = { pack: desc.id, placed: [], shardSize: desc.shardSize }
  const oldCopies: Array<{ store: string, name: string }> = []
  try {
    // the stores first: when placement cannot take the shards, no shard is read for nothing
    const targets = choose(repo, desc, health, reputations)
    // a shard the reads find missing or damaged on its store is recorded as an audit would: the pack's
    // health counts it lost from now on (the next repair regenerates it), not at the next audit
    const bad: Array<{ index: number, problem: string }> = []
    let shards: Map<number, Uint8Array>
    try {
      shards = await repo.regenerateShards(desc, health.regenerateNow, { signal, onBad: (index, problem) => { bad.push({ index, problem }) } })
    } finally {
      const found = bad.filter(b => !health.regenerateNow.includes(b.index))
      if (found.length > 0) await repo.register.putShardChecks(found.map(b => ({ pack: desc.id, index: b.index, check: { at: Date.now(), store: desc.shards[b.index].store, outcome: 'fail' as const, reason: `a repair's read: ${b.problem}` } })))
    }
    if (targets.reduced != null) result.reducedSpread = targets.reduced
    try {
      for (const index of health.regenerateNow) {
        const store = repo.stores.find(s => s.id === targets.peers[index])!
        const name = desc.shards[index].name
        // a store keeps the first copy of a name: a corrupt one there must go before the good one is put
        if (store.id === desc.shards[index].store) await store.delete('shard', name, { signal }).catch(() => {})
        await store.put('shard', name, shards.get(index)!, { signal })
        desc = await repo.relocateShard(desc, index, store.id)
        // what the store now holds is challenged like any other shard before it counts as good
        const check = await auditShard([store], desc, index, 4, signal)
        await repo.register.putShardChecks([{ pack: desc.id, index, check: { at: Date.now(), ...check } }])
        if (check.outcome !== 'pass') throw new Error(`shard ${index} put on ${store.id} did not pass its audit: ${check.reason ?? check.outcome}`)
        result.placed.push({ index, store: store.id })
        // the copy the old store may still hold is stale: deleted once the move is on the stores' records
        if (before.shards[index].store !== store.id) oldCopies.push({ store: before.shards[index].store, name })
      }
    } finally {
      await commitMoves(repo, desc.id, result, oldCopies, signal)
    }
  } catch (err) {
    if (signal?.aborted === true) throw err
    result.error = result.error != null ? `${(err as Error).message}; ${result.error}` : (err as Error).message
  }
  return result
}

/** Stores for the shards to regenerate now: the placement rules, every other shard's store fixed. */
function choose (repo: Repository, desc: PackLayout, health: PackReport, reputations: Map<string, object>): { peers: string[], reduced?: string } {
  const now = Date.now()
  const fixed = new Map<number, string>()
  // the shards that wait (absent, the pack at its threshold without them) stay where they are
  const regenerating = new Set(health.regenerateNow)
  desc.shards.forEach((s, i) => { if (!regenerating.has(i)) fixed.set(i, s.store) })
  const candidates = candidatesOf(repo, reputations, now)
  const base = { packId: desc.id, k: desc.k, m: desc.m, shardBytes: desc.shardSize, fixed, candidates }
  // first try without the stores that lost these shards; when too few stores remain, allow them again
  const lostOn = new Set(health.regenerateNow.map(i => desc.shards[i].store))
  try {
    const p = placePack({ ...base, exclude: lostOn }, { onShortfall: 'reduced' })
    return { peers: p.peers, reduced: p.reason }
  } catch {
    const p = placePack(base, { onShortfall: 'reduced' })
    return { peers: p.peers, reduced: p.reason }
  }
}

/** Every store as a placement candidate: its site, room, reputation score and whether it is reachable. */
function candidatesOf (repo: Repository, reputations: Map<string, object>, now = Date.now()): PlacementCandidate[] {
  return repo.stores.map((s: ShardStore) => {
    const rec = reputations.get(s.id)
    let reputation = 1
    if (rec != null) { try { reputation = score(parseReputation(rec), now) } catch {} }
    return { id: s.id, site: s.site ?? s.id, freeBytes: s.freeBytes?.() ?? Number.MAX_SAFE_INTEGER, reputation, online: s.reachable?.() !== false }
  })
}
