import type { PackDescriptor } from '../format/format.js'
import type { SealedBlob } from '../format/pack.js'
import type { Repository } from '../repository/repository.js'
import { checkAbort } from '../util/check-abort.js'
import { IncompleteRegisterError } from '../errors.js'
import type { ForgetRecord, IndexRecord, PlacementRecord, SnapshotRecord } from '../format/format.js'
import { listNames } from '../repository/record-list.js'
import { replicateRecords } from '../repository/replicate-records.js'
import { lockRepository } from '../repository/repository-lock.js'
import { applyIndexRecord } from '../repository/rebuild.js'
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
  /**
   * How long a shard that no record accounts for is kept before it is deleted (ms; default 7 days). Such
   * a shard may belong to a backup under way elsewhere or to a record that could not be read today.
   */
  orphanGraceMs?: number
}

export const DEFAULT_ORPHAN_GRACE_MS = 7 * 24 * 3600 * 1000

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
  /** Shards found on the stores that no record accounts for, unaccounted for longer than the grace period: deleted. */
  orphansDeleted: number
  /** Shards no record accounts for, put in quarantine (or, on a store without one, kept through the grace period). */
  orphansQuarantined: number
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
 * 3. one new index covering every pack that stays is written and committed with a new index record that
 *    supersedes every index, placement and forget record before it (generations);
 * 4. only then are the superseded records deleted, and after them the shards of the dropped packs, of
 *    the repacked ones and of the old index packs. Shards no record accounts for are kept for a grace
 *    period (quarantine) and deleted only after it.
 * Before deciding anything it refuses an incomplete register (a rebuild that could not read everything)
 * and reads the forget and snapshot records from the stores. A crash at any point leaves a repository
 * whose effective index records only name packs that still exist. The home's lock is held throughout,
 * so a backup cannot add packs (or rely on blobs) meanwhile.
 */
export async function prune (repo: Repository, options: PruneOptions = {}): Promise<PruneResult> {
  const release = await repo.lock('prune', { signal: options.signal })
  try {
    const lock = await lockRepository(repo, 'exclusive', 'prune', { ...repo.lockSettings, signal: options.signal })
    try {
      return await run(repo, options)
    } finally {
      await lock.release()
    }
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
  const register = repo.register
  const incomplete = await register.incomplete()
  if (incomplete.length > 0) throw new IncompleteRegisterError(`prune will not run: the last rebuild of the register could not read everything (${incomplete.slice(0, 3).join('; ')}${incomplete.length > 3 ? `; and ${incomplete.length - 3} more` : ''}); run "holdfast rebuild-index" once the stores are back`)
  await syncFromStores(repo, signal)
  const used = await usedBlobs(repo, { signal })

  const plans: PackPlan[] = []
  const indexPacks: PackDescriptor[] = []
  let unusedBlobs = 0
  let unusedBytes = 0
  for await (const desc of register.packDescriptors()) {
    if (!register.packs.has(desc.id)) continue
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
    indexRecordsReplaced: 0,
    orphansQuarantined: 0
  }
  if (options.dryRun === true) return result
  const grace = options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS
  if (drop.length === 0 && repack.length === 0) {
    await deleteSuperseded(repo, signal)
    await deleteForgottenSnapshots(repo, [...await register.forgotten()], signal)
    await sweepOrphans(repo, result, grace, signal)
    await replicateRecords(repo, { signal })
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

  // 3. one index for every pack that stays, superseding every index, placement and forget record known:
  // the descriptors in it carry the shards' current places and it carries the forgotten snapshots forward
  emit({ type: 'prune:phase', phase: 'index' })
  const gone = new Set([...drop, ...repack].map(p => p.desc.id))
  const listed = async (kind: 'index' | 'placement' | 'forget'): Promise<string[]> => (await repo.listRecordNames(kind, { signal })).names
  const oldIndex = await supersedableIndexRecords(repo, await listed('index'), signal)
  const oldPlacement = [...new Set([...await listed('placement'), ...await register.recordNames('prec')])]
  const oldForget = [...new Set([...await listed('forget'), ...await register.recordNames('frec')])]
  const supersedes = [...new Set([...oldIndex, ...oldPlacement, ...oldForget, ...await register.recordNames('sup')])]
  const forgotten = [...await register.forgotten()]
  // out of the register first, so that the new index names neither them nor their blobs' old places
  await register.removePacks([...gone])
  await register.markPending(plans.filter(p => !gone.has(p.desc.id)).map(p => p.desc.id))
  const newRecords = new Set(await repo.writeIndex({ signal, supersedes, forgotten }))
  await register.removeRecordNames('irec', oldIndex.filter(n => !newRecords.has(n)))
  await register.removeRecordNames('prec', oldPlacement)
  await register.removeRecordNames('frec', oldForget)
  await register.addRecordNames('sup', supersedes.filter(n => !newRecords.has(n)))

  // 4. delete: the superseded records first (each store that misses a deletion keeps a record the new
  // one supersedes: harmless), then the shards nothing refers to any more
  emit({ type: 'prune:phase', phase: 'delete' })
  result.indexRecordsReplaced = oldIndex.filter(n => !newRecords.has(n)).length
  await deleteSuperseded(repo, signal)
  await deleteForgottenSnapshots(repo, forgotten, signal)
  // every index pack from before this run: the new index covers what they described
  const doomed = [...drop.map(p => p.desc), ...repack.map(p => p.desc), ...indexPacks]
  await register.removePacks(indexPacks.map(d => d.id))
  repo.dropPackCache()
  // a name a pack that stays still uses is not deleted, wherever it lies: a shard's name is the hash of
  // its bytes, and two packs that begin with the same sealed blobs share their first data shards (a repack
  // of what an interrupted prune had already repacked)
  const stays = new Set<string>()
  for (const d of register.packs.values()) for (const s of d.shards) stays.add(s.name)
  const shards = doomed.flatMap(d => d.shards.map(s => ({ ...s, size: d.shardSize }))).filter(s => !stays.has(s.name))
  let done = 0
  for (const shard of shards) {
    checkAbort(signal)
    if (await deleteShard(repo, shard.store, shard.name, result, signal)) result.bytesFreed += shard.size
    if (repo.vault != null) await repo.vault.delete('shard', shard.name, { signal }).catch(() => {})
    emit({ type: 'prune:progress', phase: 'delete', done: ++done, total: shards.length })
  }
  // the packs that stay are the register's now: their shard names are what the sweep must keep
  await sweepOrphans(repo, result, grace, signal, stays)
  // a store that was away when the new index record was written gets it now, or at the next backup
  await replicateRecords(repo, { signal })
  return result
}

/**
 * Brings the register up to the stores before deciding anything (restic lists the snapshots from the
 * backend): forget records written elsewhere, and snapshot records this register does not know (another
 * home of the repository, or one the register lost). A snapshot record that cannot be read stops the prune:
 * its data might be in use.
 */
async function syncFromStores (repo: Repository, signal?: AbortSignal): Promise<void> {
  const register = repo.register
  const knownForget = new Set(await register.recordNames('frec'))
  const superseded = new Set(await register.recordNames('sup'))
  // index records written elsewhere (another home's backup): their packs, or no prune
  const knownIndex = new Set(await register.recordNames('irec'))
  const index = await repo.listRecordNames('index', { signal })
  const unknown: Array<{ name: string, record: IndexRecord }> = []
  for (const name of index.names) {
    if (knownIndex.has(name) || superseded.has(name)) continue
    try { unknown.push({ name, record: await repo.getRecord<IndexRecord>('index', name, { signal }) }) } catch (err) {
      if (signal?.aborted === true) throw err
      throw new IncompleteRegisterError(`prune will not run: index record ${name.slice(0, 12)} on the stores cannot be read (${(err as Error).message})`)
    }
  }
  for (const { name, record } of unknown) {
    // another home pruned since this register was built: what it knows may be gone
    if ((record.supersedes ?? []).some(n => knownIndex.has(n))) throw new IncompleteRegisterError(`prune will not run: index record ${name.slice(0, 12)}, written elsewhere, replaces records this register is built on; run "holdfast rebuild-index" first`)
    for (const n of record.supersedes ?? []) superseded.add(n)
  }
  for (const { name, record } of unknown) {
    if (superseded.has(name)) continue
    const problems = await applyIndexRecord(repo, name, record, { signal })
    if (problems.length > 0) throw new IncompleteRegisterError(`prune will not run: ${problems.join('; ')}`)
  }
  const forget = await repo.listRecordNames('forget', { signal })
  for (const name of forget.names) {
    if (knownForget.has(name) || superseded.has(name)) continue
    let record: ForgetRecord
    try { record = await repo.getRecord<ForgetRecord>('forget', name, { signal }) } catch (err) {
      if (signal?.aborted === true) throw err
      continue // an unreadable forget record only keeps a snapshot that may be gone: the safe side
    }
    if (!Array.isArray(record.snapshots)) continue
    await register.addForgotten(record.snapshots)
    for (const s of record.snapshots) await register.deleteSnapshot(s)
    await register.addRecordNames('frec', [name])
  }
  // placement records written elsewhere (another home's repair): their moves, so the new index carries them
  const knownPlacement = new Set(await register.recordNames('prec'))
  if (repo.recordKey != null) {
    for (const name of (await repo.listRecordNames('placement', { signal })).names) {
      if (knownPlacement.has(name) || superseded.has(name)) continue
      let record: PlacementRecord
      try { record = await repo.getRecord<PlacementRecord>('placement', name, { signal }) } catch (err) {
        if (signal?.aborted === true) throw err
        continue // a shard not where the register says is looked for on every store
      }
      for (const move of Array.isArray(record.moves) ? record.moves : []) {
        const desc = register.packs.get(move.pack)
        if (desc == null || !Number.isInteger(move.shard) || move.shard < 0 || move.shard >= desc.shards.length) continue
        await register.updatePack({ ...desc, shards: desc.shards.map((s, i) => i === move.shard ? { ...s, store: move.store } : s) })
      }
      await register.addRecordNames('prec', [name])
    }
  }
  const listed = await repo.listRecordNames('snapshot', { signal })
  const need = Math.max(1, repo.stores.length - repo.codec.m)
  if (listed.reached < need) throw new IncompleteRegisterError(`prune will not run: only ${listed.reached} of ${repo.stores.length} stores listed their snapshots in full, ${need} needed (${listed.problems.join('; ')})`)
  const known = new Set((await register.snapshots()).map(s => s.name))
  const forgotten = await register.forgotten()
  for (const name of listed.names) {
    if (known.has(name) || forgotten.has(name)) continue
    let snap: SnapshotRecord
    try { snap = await repo.getRecord<SnapshotRecord>('snapshot', name, { signal }) } catch (err) {
      if (signal?.aborted === true) throw err
      throw new IncompleteRegisterError(`prune will not run: snapshot record ${name.slice(0, 12)} on the stores cannot be read (${(err as Error).message})`)
    }
    await register.putSnapshot(name, snap)
  }
}

/**
 * The index records the new one may supersede: those this register applied, and those listed on the
 * stores whose packs this register knows every one of. An index record it does not know (written by
 * another home, or unreadable now) is left effective: superseding it could drop packs from the index.
 */
async function supersedableIndexRecords (repo: Repository, listed: string[], signal?: AbortSignal): Promise<string[]> {
  const applied = new Set([...await repo.register.recordNames('irec'), ...await repo.register.recordNames('sup')])
  const out = new Set(await repo.register.recordNames('irec'))
  for (const name of listed) {
    if (applied.has(name)) { out.add(name); continue }
    try {
      const record = await repo.getRecord<IndexRecord>('index', name, { signal })
      if ([...(record.packs ?? []), ...(record.entries ?? [])].every(d => repo.register.packs.has(d.id))) out.add(name)
    } catch (err) {
      if (signal?.aborted === true) throw err
    }
  }
  return [...out]
}

/** Deletes records some index record supersedes from every store; those on stores away now are deleted by a later prune. */
async function deleteSuperseded (repo: Repository, signal?: AbortSignal): Promise<void> {
  const names = await repo.register.recordNames('sup')
  const done: string[] = []
  for (const name of names) {
    let all = true
    for (const kind of ['index', 'placement', 'forget'] as const) {
      const results = await Promise.allSettled(repo.stores.map(async s => { await s.delete(kind, name, { signal }) }))
      if (signal?.aborted === true) throw signal.reason
      if (results.some(r => r.status === 'rejected' && (r.reason as Error).name !== 'NotFoundError')) all = false
    }
    if (all) done.push(name)
  }
  await repo.register.removeRecordNames('sup', done)
}

/** Deletes the snapshot records of forgotten snapshots again (a store that was away may still hold one). */
async function deleteForgottenSnapshots (repo: Repository, forgotten: string[], signal?: AbortSignal): Promise<void> {
  for (const name of forgotten) {
    await Promise.allSettled(repo.stores.map(async s => { await s.delete('snapshot', name, { signal }) }))
    if (signal?.aborted === true) throw signal.reason
  }
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

/**
 * Shards on the stores that no pack of the register names (on any store: a copy moved by a repair is
 * accounted for wherever it is). Such a shard is not deleted at once: it may belong to a backup under way
 * in another home, or to a record that could not be read today. A store with a quarantine (a host, a
 * directory) takes it out of use there: it no longer counts against the quota, and the store deletes it
 * once the grace period is over, unless a repair that finds a record naming it releases it first. On a
 * store without one, its first sighting is recorded and it is deleted once it has been unaccounted for
 * longer than the grace period. Expired quarantine on the stores the owner keeps itself is purged here.
 */
async function sweepOrphans (repo: Repository, result: PruneResult, graceMs: number, signal?: AbortSignal, names?: Set<string>): Promise<void> {
  const known = names ?? new Set<string>()
  if (names == null) for (const d of repo.register.packs.values()) for (const s of d.shards) known.add(s.name)
  const now = Date.now()
  for (const store of [...repo.stores, ...(repo.vault != null ? [repo.vault] : [])]) {
    // bounded like every listing: a store that lists garbage or without end is skipped, swept next time
    const listed = await listNames([store], 'shard', { signal })
    if (listed.reached === 0) continue
    if (store.purgeQuarantine != null) await store.purgeQuarantine({ signal }).catch(err => { if (signal?.aborted === true) throw err })
    const orphans = listed.names.filter(name => !known.has(name))
    const since = await repo.register.noteOrphans(store.id, orphans, now)
    for (const name of orphans) {
      if (graceMs > 0 && store.quarantine != null) {
        try {
          await store.quarantine('shard', name, graceMs, { signal })
          await repo.register.forgetOrphan(store.id, name)
          result.orphansQuarantined++
          continue
        } catch (err) {
          if (signal?.aborted === true) throw err
          // a store that cannot quarantine now: the owner's own grace below
        }
      }
      if (now - since.get(name)! < graceMs) { result.orphansQuarantined++; continue }
      try {
        await store.delete('shard', name, { signal })
        await repo.register.forgetOrphan(store.id, name)
        result.orphansDeleted++
      } catch (err) {
        if (signal?.aborted === true) throw err
      }
    }
  }
}
