import type { ForgetRecord, IndexBlob, IndexRecord, PlacementRecord, SnapshotRecord, PackLayout } from '../format/format.js'
import type { Repository } from './repository.js'
import type { ListLimits } from './record-list.js'
import type { RecordKind } from '../format/records.js'
import { openBlob } from '../format/blob.js'
import { StoreUnavailableError } from '../errors.js'

export interface RebuildResult {
  packs: number
  blobs: number
  snapshots: number
  /** Placement records applied (shards moved since their index was written). */
  moves: number
  /** Records some index record supersedes (ignored; prune deletes them). */
  superseded: number
  /** What could not be listed or read: each skipped, none blocks the rebuild. */
  warnings: string[]
  /** True when a record or index pack that may describe data could not be read: prune refuses until a rebuild reads everything. */
  incomplete: boolean
}

/**
 * Rebuilds the register from the records on the stores, which hold the truth:
 * 1. index records, minus those a readable index record supersedes (generations, written by prune);
 *    the index packs they name give the descriptors of every data and tree pack;
 * 2. placement records (not superseded), applied in the order they were written: shards moved by repair
 *    or rebalancing since their index was written;
 * 3. forget records and the `forgotten` lists of the index records: snapshots forgotten;
 * 4. snapshot records, except forgotten ones.
 * Every listing is bounded (record-list.ts) and every record authenticated; one that cannot be read is
 * skipped with a warning. A skipped index record, index pack or snapshot record marks the register
 * incomplete: what it describes may be in use, so prune must not run on what is left.
 */
/**
 * Adds what an index record describes to the register: the index packs it names, read and opened, give
 * the descriptors of the data and tree packs. Returns one line per index pack that could not be read.
 */
export async function applyIndexRecord (repo: Repository, name: string, record: IndexRecord, options: { signal?: AbortSignal } = {}): Promise<string[]> {
  const problems: string[] = []
  if (Array.isArray(record.entries)) await repo.register.addPacks(record.entries, false)
  for (const desc of record.packs ?? []) {
    try {
      const pack = await repo.readPack(desc, options)
      for (const [type, id, offset, length, rawLength] of desc.blobs) {
        if (type !== 'index') continue
        const blob = JSON.parse(openBlob(repo.keys, 'index', id, pack.subarray(offset, offset + length), rawLength).toString('utf8')) as IndexBlob
        await repo.register.addPacks(blob.packs, false)
      }
      await repo.register.addPacks([desc], false)
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      problems.push(`index pack ${desc.id.slice(0, 12)} of index record ${name.slice(0, 12)} skipped: ${(err as Error).message}`)
    }
  }
  await repo.register.addRecordNames('irec', [name])
  return problems
}

export async function rebuildRegister (repo: Repository, options: { signal?: AbortSignal } & ListLimits = {}): Promise<RebuildResult> {
  const register = repo.register
  const warnings: string[] = []
  const missing: string[] = []
  const list = async (kind: RecordKind): Promise<string[]> => {
    const listed = await repo.listRecordNames(kind, options)
    warnings.push(...listed.problems)
    if (listed.reached === 0 && listed.names.length === 0 && repo.stores.length > 0) {
      throw new StoreUnavailableError(`no store can be reached to list ${kind} records: ${listed.problems.join('; ')}`)
    }
    return listed.names
  }
  const unread = new Map<string, string>()
  const read = async <T>(kind: RecordKind, name: string, essential: boolean): Promise<T | undefined> => {
    try {
      return await repo.getRecord<T>(kind, name, options)
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      // a snapshot record by its full name: "holdfast forget NAME" settles one that is gone for good
      const line = kind === 'snapshot'
        ? `snapshot record ${name} skipped: ${(err as Error).message} (if it cannot come back, "holdfast forget ${name}")`
        : `${kind} record ${name.slice(0, 12)} skipped: ${(err as Error).message}`
      warnings.push(line)
      if (essential) unread.set(name, line)
      return undefined
    }
  }

  // listed before the register is cleared: a store that cannot be reached at all leaves it as it was
  const indexNames = await list('index')
  const indexRecords: Array<{ name: string, record: IndexRecord }> = []
  for (const name of indexNames) {
    const record = await read<IndexRecord>('index', name, true)
    if (record != null && (Array.isArray(record.packs) || Array.isArray(record.entries))) indexRecords.push({ name, record })
  }
  const superseded = new Set<string>()
  for (const { record } of indexRecords) for (const n of record.supersedes ?? []) superseded.add(n)
  const effective = indexRecords.filter(r => !superseded.has(r.name))
  // an index record that could not be read leaves the register incomplete, unless a readable one supersedes it
  for (const [name, line] of unread) if (!superseded.has(name)) missing.push(line)
  unread.clear()

  await register.clear()
  const forgotten = new Set<string>()
  effective.sort((a, b) => a.record.created.localeCompare(b.record.created) || a.name.localeCompare(b.name))
  for (const { name, record } of effective) {
    for (const f of record.forgotten ?? []) forgotten.add(f)
    const problems = await applyIndexRecord(repo, name, record, options)
    warnings.push(...problems)
    missing.push(...problems)
  }
  await register.addRecordNames('sup', [...superseded].filter(n => indexNames.includes(n)))

  // placement records: the moves since each pack's index was written, oldest first
  let moves = 0
  const placements: Array<{ name: string, record: PlacementRecord }> = []
  const placementNames = await list('placement')
  if (placementNames.length > 0 && repo.recordKey == null) {
    warnings.push(`${placementNames.length} placement records skipped: this home has no node identity to open them (shards are then looked for on every store)`)
  } else {
    for (const name of placementNames) {
      if (superseded.has(name)) continue
      const record = await read<PlacementRecord>('placement', name, false)
      if (record != null && Array.isArray(record.moves)) placements.push({ name, record })
    }
  }
  placements.sort((a, b) => a.record.created.localeCompare(b.record.created) || a.name.localeCompare(b.name))
  const moved = new Map<string, PackLayout>()
  for (const { record } of placements) {
    for (const move of record.moves) {
      const desc = moved.get(move.pack) ?? register.packs.get(move.pack)
      if (desc == null || !Number.isInteger(move.shard) || move.shard < 0 || move.shard >= desc.shards.length || typeof move.store !== 'string') continue
      moved.set(move.pack, { ...desc, shards: desc.shards.map((s, i) => i === move.shard ? { ...s, store: move.store } : s) })
      moves++
    }
  }
  for (const desc of moved.values()) await register.updatePack(desc)
  await register.addRecordNames('prec', placements.map(p => p.name))
  await register.addRecordNames('sup', placementNames.filter(n => superseded.has(n)))

  // forget records
  const forgetNames = await list('forget')
  const applied: string[] = []
  for (const name of forgetNames) {
    if (superseded.has(name)) continue
    const record = await read<ForgetRecord>('forget', name, false)
    if (record == null || !Array.isArray(record.snapshots)) continue
    for (const s of record.snapshots) forgotten.add(s)
    applied.push(name)
  }
  await register.addRecordNames('frec', applied)
  await register.addRecordNames('sup', forgetNames.filter(n => superseded.has(n)))
  await register.addForgotten([...forgotten])

  // snapshots, except forgotten ones
  let snapshots = 0
  for (const name of await list('snapshot')) {
    if (forgotten.has(name)) continue
    const snap = await read<SnapshotRecord>('snapshot', name, true)
    if (snap == null) { missing.push(unread.get(name)!); continue }
    await register.putSnapshot(name, snap)
    snapshots++
  }
  await register.setIncomplete(missing)
  await register.markBuilt()
  return { packs: register.packs.size, blobs: register.blobs.size, snapshots, moves, superseded: superseded.size, warnings, incomplete: missing.length > 0 }
}
