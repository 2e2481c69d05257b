import type { PackDescriptor } from '../repository/format.js'
import type { SealedBlob } from '../repository/pack.js'
import type { Repository } from '../repository/repository.js'
import { checkAbort } from '../store/directory-store.js'
import { usedBlobs } from './used-blobs.js'

export type PruneEvent =
  | { type: 'prune:phase', phase: 'mark' | 'repack' | 'index' | 'delete' }
  | { type: 'prune:progress', phase: 'repack' | 'delete', done: number, total: number }

export interface PruneOptions {
  signal?: AbortSignal
  onProgress?: (event: PruneEvent) => void
  /** Only report what would be done. */
  dryRun?: boolean
  /**
   * A partly used pack is repacked when at least this fraction of its bytes is unused (default 0.2; 0:
   * every partly used pack). Below it, the pack stays whole: rewriting a pack to free a few KiB costs more
   * than it frees.
   */
  repackUnused?: number
}

export interface PruneResult {
  dryRun: boolean
  /** Unused bytes left in packs below the repack threshold (freed by a later prune, once more of them is unused). */
  unusedKept: number
  packs: { kept: number, repacked: number, deleted: number, written: number }
  blobs: { used: number, unused: number }
  /** Pack bytes (before erasure coding) that no snapshot needs any more. */
  unusedBytes: number
  /** Shards deleted from the stores, and their bytes. */
  shardsDeleted: number
  bytesFreed: number
  /** Shards found on the stores that no pack refers to (left by an interrupted run), deleted too. */
  orphansDeleted: number
  /** Shards that could not be deleted now (their store unreachable): deleted when it is back. */
  deferred: number
  indexRecordsReplaced: number
}

interface PackPlan { desc: PackDescriptor, used: Array<PackDescriptor['blobs'][number]>, unusedBytes: number }

/**
 * Prune: deletes what no snapshot needs, on every store. Like restic's:
 * 1. mark every blob the snapshots need (trees walked from each snapshot);
 * 2. packs with no needed blob are dropped; packs with some are repacked: their needed blobs (still
 *    sealed; the pack was verified against its id when read) are written into new packs;
 * 3. one new index covering every pack that stays is written and committed with a new index record;
 * 4. only then are the old index records deleted, and after them the shards of the dropped packs, of
 *    the repacked ones and of the old index packs, and shards no pack refers to.
 * A crash at any point leaves a repository whose index records only name packs that still exist. The
 * home's lock is held throughout, so a backup cannot add packs (or rely on blobs) meanwhile.
 */
export async function prune (repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  const release = await repo.lock('prune', { signal: options.signal })
  try {
    return await run(repo, options)
  } finally {
    await release()
  }
}

export const DEFAULT_REPACK_UNUSED = 0.2

const isIndexPack = (d: PackDescriptor): boolean => d.blobs.length > 0 && d.blobs.every(b => b[0] === 'index')

async function run (repo: Repository, options: PruneOptions): Promise<PruneResult> {
  const { signal } = options
  const emit = (e: PruneEvent): void => options.onProgress?.(e)
  emit({ type: 'prune:phase', phase: 'mark' })
  const used = await usedBlobs(repo, { signal })
  const register = repo.register

  const plans: PackPlan[] = []
  const indexPacks: PackDescriptor[] = []
  let unusedBlobs = 0
  let unusedBytes = 0
  for (const desc of register.packs.values()) {
    if (isIndexPack(desc)) { indexPacks.push(desc); continue }
    const plan: PackPlan = { desc, used: [], unusedBytes: 0 }
    for (const b of desc.blobs) {
      // a blob stored twice (an interrupted session) is kept where the register finds it
      if (used.has(b[1]) && register.blobs.get(b[1])?.pack === desc.id) plan.used.push(b)
      else { plan.unusedBytes += b[3]; unusedBlobs++ }
    }
    unusedBytes += plan.unusedBytes
    plans.push(plan)
  }
  const drop = plans.filter(p => p.used.length === 0)
  const threshold = options.repackUnused ?? DEFAULT_REPACK_UNUSED
  const packBytes = (p: PackPlan): number => p.desc.blobs.reduce((n, b) => n + b[3], 0)
  const repack = plans.filter(p => p.used.length > 0 && p.unusedBytes > 0 && p.unusedBytes >= threshold * packBytes(p))
  const repacking = new Set(repack)
  const kept = plans.filter(p => p.used.length > 0 && !repacking.has(p))
  const result: PruneResult = {
    dryRun: options.dryRun === true,
    unusedKept: kept.reduce((n, p) => n + p.unusedBytes, 0),
    packs: { kept: kept.length, repacked: repack.length, deleted: drop.length, written: 0 },
    blobs: { used: used.size, unused: unusedBlobs },
    unusedBytes,
    shardsDeleted: 0,
    bytesFreed: 0,
    orphansDeleted: 0,
    deferred: 0,
    indexRecordsReplaced: 0
  }
  if (options.dryRun === true) return result
  if (drop.length === 0 && repack.length === 0) {
    await sweepOrphans(repo, result, signal)
    return result
  }

  // 2. repack the needed blobs of partly used packs, data and trees apart as the packer keeps them
  emit({ type: 'prune:phase', phase: 'repack' })
  const written: PackDescriptor[] = []
  for (const type of ['data', 'tree'] as const) {
    let batch: SealedBlob[] = []
    let bytes = 0
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return
      const desc = await repo.storePack(batch, { signal })
      await register.addPacks([desc], true)
      written.push(desc)
      batch = []
      bytes = 0
    }
    let done = 0
    for (const plan of repack) {
      checkAbort(signal)
      const blobs = plan.used.filter(b => b[0] === type)
      if (blobs.length > 0) {
        const pack = await repo.readPack(plan.desc, { signal })
        for (const [, id, offset, length, rawLength] of blobs) {
          batch.push({ type, id, sealed: pack.subarray(offset, offset + length), rawLength })
          bytes += length
          if (bytes >= repo.config.packSize) await flush()
        }
      }
      emit({ type: 'prune:progress', phase: 'repack', done: ++done, total: repack.length })
    }
    await flush()
  }
  result.packs.written = written.length

  // 3. one index for every pack that stays
  emit({ type: 'prune:phase', phase: 'index' })
  const gone = new Set([...drop, ...repack].map(p => p.desc.id))
  const oldRecords = await repo.listRecords('index', { signal })
  // out of the register first, so that the new index names neither them nor their blobs' old places
  await register.removePacks([...gone])
  await register.markPending(plans.filter(p => !gone.has(p.desc.id)).map(p => p.desc.id))
  const newRecord = await repo.writeIndex({ signal })

  // 4. delete: old index records first, then the shards nothing refers to any more
  emit({ type: 'prune:phase', phase: 'delete' })
  const stale = oldRecords.filter(n => n !== newRecord)
  for (const name of stale) {
    await Promise.allSettled(repo.stores.map(async s => { await s.delete('index', name, { signal }) }))
  }
  await register.forgetIndexRecords(stale)
  result.indexRecordsReplaced = stale.length
  // every index pack from before this run: the new index covers what they described
  const doomed = [...drop.map(p => p.desc), ...repack.map(p => p.desc), ...indexPacks]
  await register.removePacks(indexPacks.map(d => d.id))
  repo.dropPackCache()
  const shards = doomed.flatMap(d => d.shards.map(s => ({ ...s, size: d.shardSize })))
  let done = 0
  for (const shard of shards) {
    checkAbort(signal)
    if (await deleteShard(repo, shard.store, shard.name, result, signal)) result.bytesFreed += shard.size
    if (repo.vault != null) await repo.vault.delete('shard', shard.name, { signal }).catch(() => {})
    emit({ type: 'prune:progress', phase: 'delete', done: ++done, total: shards.length })
  }
  await sweepOrphans(repo, result, signal)
  return result
}

/** Deletes one shard; one on a store unreachable now is recorded and deleted when the store is back. */
async function deleteShard (repo: Repository, storeId: string, name: string, result: PruneResult, signal?: AbortSignal): Promise<boolean> {
  const store = repo.storeById(storeId)
  if (store == null) return false // a store no longer configured: nothing to reach
  try {
    await store.delete('shard', name, { signal })
    result.shardsDeleted++
    return true
  } catch (err) {
    if (signal?.aborted === true) throw err
    result.deferred++
    await repo.register.addStaleCopy(storeId, name)
    return false
  }
}

/** Deletes shards on the stores that no pack of the register refers to. */
async function sweepOrphans (repo: Repository, result: PruneResult, signal?: AbortSignal): Promise<void> {
  const known = new Map<string, Set<string>>()
  for (const d of repo.register.packs.values()) {
    for (const s of d.shards) {
      let set = known.get(s.store)
      if (set == null) known.set(s.store, set = new Set())
      set.add(s.name)
    }
  }
  // the vault holds copies of shards placed elsewhere: any shard a pack names is known there
  if (repo.vault != null) known.set(repo.vault.id, new Set([...known.values()].flatMap(s => [...s])))
  for (const store of [...repo.stores, ...(repo.vault != null ? [repo.vault] : [])]) {
    const mine = known.get(store.id) ?? new Set<string>()
    const orphans: string[] = []
    try {
      for await (const name of store.list('shard', { signal })) if (!mine.has(name)) orphans.push(name)
    } catch (err) {
      if (signal?.aborted === true) throw err
      continue // unreachable now: swept next time
    }
    for (const name of orphans) {
      try {
        await store.delete('shard', name, { signal })
        result.orphansDeleted++
      } catch (err) {
        if (signal?.aborted === true) throw err
      }
    }
  }
}
