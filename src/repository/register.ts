import { resolve as resolvePath } from 'node:path'
import { Level } from 'level'
import type { PackDescriptor, PackLayout, SnapshotRecord, Tree } from '../format/format.js'
import { NotFoundError } from '../errors.js'
import { BlobIndex } from './blob-index.js'

/**
 * The local register: a LevelDB cache of what the stores hold (pack descriptors, snapshots, decoded
 * trees). Everything in it can be rebuilt from the stores and the key (`holdfast rebuild-index`).
 *
 * Keys: pack!ID -> PackDescriptor; pending!ID -> packs stored but not yet covered by an index record;
 * snap!NAME -> SnapshotRecord; tree!ID -> Tree (plaintext cache); irec!NAME -> index record merged;
 * prec!NAME / frec!NAME -> placement and forget records applied; sup!NAME -> a record some index record
 * supersedes (still to be deleted from the stores that hold it); forgotten!NAME -> a forgotten snapshot;
 * meta!incomplete -> what the last rebuild could not read (prune refuses to run on an incomplete register);
 * orphan!STORE!NAME -> when a shard no record accounts for was first seen on a store.
 */
export type { BlobLocation } from './blob-index.js'

/**
 * The register keeps each pack in memory as a PackLayout: everything but its list of blobs, which stays
 * in the database (`packDescriptor`, `packDescriptors`); where each blob is, the blob index says.
 */
export type { PackLayout } from '../format/format.js'

/** The last audit of one shard where it was placed. */
export interface ShardCheck {
  /** ms since the epoch */
  at: number
  /** the store (peer) that was asked */
  store: string
  outcome: 'pass' | 'fail' | 'unreachable'
  reason?: string
}

type Value = PackDescriptor | SnapshotRecord | Tree | string[] | number | ShardCheck | object

/** Registers open in this process, by path: a daemon's concurrent commands (a restore beside a backup) share one. */
const shared = new Map<string, { register: Promise<Register>, refs: number }>()

export class Register {
  private readonly db: Level<string, Value>
  private key?: string
  /** blob id (hex) -> where it is; loaded whole at open (about 70 bytes per blob: see blob-index.ts). */
  readonly blobs = new BlobIndex()
  /** pack id -> its layout (shards, codec, sizes); its blob list stays in the database */
  readonly packs = new Map<string, PackLayout>()
  /** shard names two or more packs share (built when asked, dropped when the packs change) */
  private shared?: Set<string>

  constructor (path: string) {
    this.db = new Level<string, Value>(path, { valueEncoding: 'json' })
  }

  /**
   * Opens the register at `path`, or shares the one this process has open there (LevelDB allows one
   * opener per directory); each caller closes its own, and the last close closes the database.
   */
  static async openShared (path: string): Promise<Register> {
    const key = resolvePath(path)
    let entry = shared.get(key)
    if (entry == null) {
      const register = new Register(path)
      register.key = key
      const created = { register: register.open().then(() => register), refs: 0 }
      shared.set(key, created)
      created.register.catch(() => { if (shared.get(key) === created) shared.delete(key) })
      entry = created
    }
    entry.refs++
    try {
      return await entry.register
    } catch (err) {
      entry.refs--
      throw err
    }
  }

  async open (): Promise<void> {
    await this.db.open()
    for await (const [, desc] of this.db.iterator({ gte: 'pack!', lt: 'pack"' })) this.addToMemory(desc as PackDescriptor)
  }

  async close (): Promise<void> {
    if (this.key != null) {
      const entry = shared.get(this.key)
      if (entry != null && --entry.refs > 0) return
      shared.delete(this.key)
    }
    if (this.db.status === 'open') await this.db.close()
  }

  private addToMemory (desc: PackDescriptor): void {
    this.shared = undefined
    const { blobs, ...layout } = desc
    this.packs.set(desc.id, layout)
    for (const [type, id, offset, length, rawLength] of blobs) this.blobs.add(id, { pack: desc.id, type, offset, length, rawLength })
  }

  /** A pack's whole descriptor, blob list included (read from the database). */
  async packDescriptor (id: string): Promise<PackDescriptor | undefined> {
    return (await this.db.get(`pack!${id}`)) as PackDescriptor | undefined
  }

  /** Every pack's whole descriptor, one at a time from the database (never all in memory). */
  async * packDescriptors (): AsyncGenerator<PackDescriptor> {
    for await (const [, desc] of this.db.iterator({ gte: 'pack!', lt: 'pack"' })) yield desc as PackDescriptor
  }

  /**
   * Records packs; `pending` marks them as not yet covered by an index record in the stores; `storedNow`
   * (default: pending) records that this node just stored their shards (as good as an audit now).
   */
  async addPacks (descs: PackDescriptor[], pending: boolean, storedNow = pending): Promise<void> {
    const ops: Array<{ type: 'put', key: string, value: Value }> = []
    for (const d of descs) {
      ops.push({ type: 'put', key: `pack!${d.id}`, value: d })
      // pending: this node just stored the pack's shards (each acknowledged by its store), which is as
      // good as an audit at this time
      if (pending) ops.push({ type: 'put', key: `pending!${d.id}`, value: 1 })
      if (storedNow) ops.push({ type: 'put', key: `stored!${d.id}`, value: Date.now() })
    }
    await this.db.batch(ops)
    for (const d of descs) this.addToMemory(d)
  }

  /** Replaces a known pack's layout (its shards moved); its blobs stay where they are. */
  async updatePack (layout: PackLayout): Promise<void> {
    const stored = await this.packDescriptor(layout.id)
    if (stored == null || !this.packs.has(layout.id)) throw new NotFoundError(`pack ${layout.id.slice(0, 12)} is not in the register`)
    const { blobs: _ignored, ...only } = layout as PackDescriptor
    await this.db.put(`pack!${layout.id}`, { ...only, blobs: stored.blobs })
    this.packs.set(layout.id, only)
    this.shared = undefined
  }

  async pendingPacks (): Promise<PackDescriptor[]> {
    const out: PackDescriptor[] = []
    for await (const key of this.db.keys({ gte: 'pending!', lt: 'pending"' })) {
      const id = key.slice('pending!'.length)
      const d = this.packs.has(id) ? await this.packDescriptor(id) : undefined
      if (d != null) out.push(d)
    }
    return out
  }

  async markIndexed (recordName: string, packIds: string[]): Promise<void> {
    await this.db.batch([
      ...packIds.map(id => ({ type: 'del' as const, key: `pending!${id}` })),
      { type: 'put', key: `irec!${recordName}`, value: 1 }
    ])
  }

  async hasIndexRecord (name: string): Promise<boolean> {
    return (await this.db.get(`irec!${name}`)) !== undefined
  }

  async putSnapshot (name: string, snap: SnapshotRecord): Promise<void> {
    await this.db.put(`snap!${name}`, snap)
  }

  async snapshots (): Promise<Array<{ name: string, snapshot: SnapshotRecord }>> {
    const out: Array<{ name: string, snapshot: SnapshotRecord }> = []
    for await (const [key, value] of this.db.iterator({ gte: 'snap!', lt: 'snap"' })) {
      out.push({ name: key.slice(5), snapshot: value as SnapshotRecord })
    }
    return out.sort((a, b) => a.snapshot.time.localeCompare(b.snapshot.time) || a.name.localeCompare(b.name))
  }

  async deleteSnapshot (name: string): Promise<void> {
    await this.db.del(`snap!${name}`)
  }

  /**
   * Forgets packs (prune deleted them): their descriptors and everything kept about them. A blob that
   * was in one of them and is in another pack too is found there afterwards.
   */
  async removePacks (ids: string[]): Promise<void> {
    if (ids.length === 0) return
    const gone = new Set(ids)
    const ops: Array<{ type: 'del', key: string }> = []
    for (const id of gone) for (const k of ['pack', 'pending', 'stored', 'rebalance']) ops.push({ type: 'del', key: `${k}!${id}` })
    for await (const key of this.db.keys({ gte: 'check!', lt: 'check"' })) if (gone.has(key.split('!')[1])) ops.push({ type: 'del', key })
    await this.db.batch(ops)
    for (const id of gone) this.packs.delete(id)
    this.shared = undefined
    this.blobs.clear()
    for await (const desc of this.packDescriptors()) this.addToMemory(desc)
  }

  /** Marks packs as not covered by an index record (prune writes one full index for all of them). */
  async markPending (ids: string[]): Promise<void> {
    if (ids.length === 0) return
    await this.db.batch(ids.map(id => ({ type: 'put' as const, key: `pending!${id}`, value: 1 })))
  }

  async forgetIndexRecords (names: string[]): Promise<void> {
    if (names.length === 0) return
    await this.db.batch(names.map(n => ({ type: 'del' as const, key: `irec!${n}` })))
  }

  async getTree (id: string): Promise<Tree | undefined> {
    return (await this.db.get(`tree!${id}`)) as Tree | undefined
  }

  async putTrees (trees: Array<[string, Tree]>): Promise<void> {
    if (trees.length === 0) return
    await this.db.batch(trees.map(([id, tree]) => ({ type: 'put' as const, key: `tree!${id}`, value: tree })))
  }

  /** Set once the register reflects the stores (after init or a rebuild); absent in a new or lost register. */
  async markBuilt (): Promise<void> {
    await this.db.put('meta!built', 1)
  }

  async isBuilt (): Promise<boolean> {
    return (await this.db.get('meta!built')) !== undefined
  }

  /** Records audit outcomes, keyed by pack and shard index. */
  async putShardChecks (checks: Array<{ pack: string, index: number, check: ShardCheck }>): Promise<void> {
    if (checks.length === 0) return
    await this.db.batch(checks.map(c => ({ type: 'put' as const, key: `check!${c.pack}!${c.index}`, value: c.check })))
  }

  /** Every recorded audit outcome: pack id -> shard index -> its last check. */
  async shardChecks (): Promise<Map<string, Map<number, ShardCheck>>> {
    const out = new Map<string, Map<number, ShardCheck>>()
    for await (const [key, value] of this.db.iterator({ gte: 'check!', lt: 'check"' })) {
      const [, pack, index] = key.split('!')
      let m = out.get(pack)
      if (m == null) out.set(pack, m = new Map())
      m.set(Number(index), value as ShardCheck)
    }
    return out
  }

  /** When this node stored each pack's shards (packs it stored itself, since this register exists). */
  async storedTimes (): Promise<Map<string, number>> {
    const out = new Map<string, number>()
    for await (const [key, value] of this.db.iterator({ gte: 'stored!', lt: 'stored"' })) out.set(key.slice(7), value as number)
    return out
  }

  /** Marks a pack whose shards are spread over the sites less well than the rules ask. */
  async markRebalance (pack: string, reason: string): Promise<void> {
    await this.db.put(`rebalance!${pack}`, reason as unknown as Value)
  }

  async clearRebalance (pack: string): Promise<void> {
    await this.db.del(`rebalance!${pack}`)
  }

  async rebalanceNeeded (): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    for await (const [key, value] of this.db.iterator({ gte: 'rebalance!', lt: 'rebalance"' })) out.set(key.slice(10), value as unknown as string)
    return out
  }

  /** A copy of a shard left on a store after a repair moved it away (deleted when the store is back). */
  async addStaleCopy (store: string, name: string): Promise<void> {
    await this.db.put(`stale!${store}!${name}`, Date.now())
  }

  async staleCopies (): Promise<Array<{ store: string, name: string }>> {
    const out: Array<{ store: string, name: string }> = []
    for await (const key of this.db.keys({ gte: 'stale!', lt: 'stale"' })) {
      const at = key.lastIndexOf('!')
      out.push({ store: key.slice(6, at), name: key.slice(at + 1) })
    }
    return out
  }

  async removeStaleCopy (store: string, name: string): Promise<void> {
    await this.db.del(`stale!${store}!${name}`)
  }

  /** A store's (peer's) reputation record, as the audit module keeps it (plain JSON). */
  async putReputation (store: string, record: object): Promise<void> {
    await this.db.put(`rep!${store}`, record)
  }

  async reputations (): Promise<Map<string, object>> {
    const out = new Map<string, object>()
    for await (const [key, value] of this.db.iterator({ gte: 'rep!', lt: 'rep"' })) out.set(key.slice(4), value as object)
    return out
  }

  /** Names of the records of one bookkeeping kind this register has applied (irec, prec, frec, sup). */
  async recordNames (prefix: 'irec' | 'prec' | 'frec' | 'sup'): Promise<string[]> {
    const out: string[] = []
    for await (const key of this.db.keys({ gte: `${prefix}!`, lt: `${prefix}"` })) out.push(key.slice(prefix.length + 1))
    return out
  }

  async addRecordNames (prefix: 'irec' | 'prec' | 'frec' | 'sup', names: string[]): Promise<void> {
    if (names.length === 0) return
    await this.db.batch(names.map(n => ({ type: 'put' as const, key: `${prefix}!${n}`, value: 1 })))
  }

  async removeRecordNames (prefix: 'irec' | 'prec' | 'frec' | 'sup', names: string[]): Promise<void> {
    if (names.length === 0) return
    await this.db.batch(names.map(n => ({ type: 'del' as const, key: `${prefix}!${n}` })))
  }

  /** Records snapshots as forgotten: a snapshot record of that name found on a store later is ignored. */
  async addForgotten (names: string[]): Promise<void> {
    if (names.length === 0) return
    await this.db.batch(names.map(n => ({ type: 'put' as const, key: `forgotten!${n}`, value: 1 })))
  }

  async forgotten (): Promise<Set<string>> {
    const out = new Set<string>()
    for await (const key of this.db.keys({ gte: 'forgotten!', lt: 'forgotten"' })) out.add(key.slice(10))
    return out
  }

  /** What the last rebuild could not read; empty when it read everything. */
  async setIncomplete (problems: string[]): Promise<void> {
    if (problems.length === 0) await this.db.del('meta!incomplete')
    else await this.db.put('meta!incomplete', problems)
  }

  /** Drops what the last rebuild could not read about `name` (a snapshot record since forgotten). */
  async settleIncomplete (name: string): Promise<void> {
    const before = await this.incomplete()
    const after = before.filter(line => !line.includes(name))
    if (after.length !== before.length) await this.setIncomplete(after)
  }

  async incomplete (): Promise<string[]> {
    return ((await this.db.get('meta!incomplete')) as string[] | undefined) ?? []
  }

  /**
   * When each shard no record accounts for was first seen on its store (prune deletes one only once it
   * has been unaccounted for longer than the grace period). Returns the first-seen times of `seen`,
   * recording now for the new ones, and forgets those no longer seen on that store.
   */
  async noteOrphans (store: string, seen: string[], now = Date.now()): Promise<Map<string, number>> {
    const before = new Map<string, number>()
    for await (const [key, value] of this.db.iterator({ gte: `orphan!${store}!`, lt: `orphan!${store}"` })) before.set(key.slice(key.lastIndexOf('!') + 1), value as number)
    const out = new Map<string, number>()
    const ops: Array<{ type: 'put', key: string, value: Value } | { type: 'del', key: string }> = []
    for (const name of seen) {
      const at = before.get(name) ?? now
      out.set(name, at)
      if (!before.has(name)) ops.push({ type: 'put', key: `orphan!${store}!${name}`, value: at })
    }
    const still = new Set(seen)
    for (const name of before.keys()) if (!still.has(name)) ops.push({ type: 'del', key: `orphan!${store}!${name}` })
    if (ops.length > 0) await this.db.batch(ops)
    return out
  }

  async forgetOrphan (store: string, name: string): Promise<void> {
    await this.db.del(`orphan!${store}!${name}`)
  }

  /**
   * Empties the register (before a rebuild). Audit outcomes, reputations and when orphans were first
   * seen are local knowledge: kept.
   */
  async clear (): Promise<void> {
    const keep: Array<[string, Value]> = []
    for await (const entry of this.db.iterator({ gte: 'check!', lt: 'check"' })) keep.push(entry)
    for await (const entry of this.db.iterator({ gte: 'rep!', lt: 'rep"' })) keep.push(entry)
    for await (const entry of this.db.iterator({ gte: 'orphan!', lt: 'orphan"' })) keep.push(entry)
    await this.db.clear()
    if (keep.length > 0) await this.db.batch(keep.map(([key, value]) => ({ type: 'put' as const, key, value })))
    this.blobs.clear()
    this.packs.clear()
    this.shared = undefined
  }

  /**
   * Shard names that two or more packs of the register share. A shard's name is the hash of its bytes, and
   * a data shard holds sealed blobs verbatim: two packs that begin with the same blobs (a repack of what an
   * interrupted run had already repacked) have the same first data shards. Deleting such a name on a store
   * for one pack would delete the other's shard too.
   */
  sharedShardNames (): Set<string> {
    if (this.shared != null) return this.shared
    const seen = new Set<string>()
    const shared = new Set<string>()
    for (const d of this.packs.values()) {
      for (const s of new Set(d.shards.map(x => x.name))) {
        if (seen.has(s)) shared.add(s); else seen.add(s)
      }
    }
    this.shared = shared
    return shared
  }
}
