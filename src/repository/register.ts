import { Level } from 'level'
import type { BlobType, PackDescriptor, SnapshotRecord, Tree } from './format.js'

/**
 * The local register: a LevelDB cache of what the stores hold (pack descriptors, snapshots, decoded
 * trees). Everything in it can be rebuilt from the stores and the key (`holdfast rebuild-index`).
 *
 * Keys: pack!ID -> PackDescriptor; pending!ID -> packs stored but not yet covered by an index record;
 * snap!NAME -> SnapshotRecord; tree!ID -> Tree (plaintext cache); irec!NAME -> index record merged.
 */
export interface BlobLocation {
  pack: string
  type: BlobType
  offset: number
  length: number
  rawLength: number
}

type Value = PackDescriptor | SnapshotRecord | Tree | string[] | number

export class Register {
  private readonly db: Level<string, Value>
  /** blob id (hex) -> where it is; loaded whole at open (an index of about 100 bytes per blob). */
  readonly blobs = new Map<string, BlobLocation>()
  readonly packs = new Map<string, PackDescriptor>()

  constructor (path: string) {
    this.db = new Level<string, Value>(path, { valueEncoding: 'json' })
  }

  async open (): Promise<void> {
    await this.db.open()
    for await (const [, desc] of this.db.iterator({ gte: 'pack!', lt: 'pack"' })) this.addToMemory(desc as PackDescriptor)
  }

  async close (): Promise<void> {
    if (this.db.status === 'open') await this.db.close()
  }

  private addToMemory (desc: PackDescriptor): void {
    this.packs.set(desc.id, desc)
    for (const [type, id, offset, length, rawLength] of desc.blobs) {
      if (!this.blobs.has(id)) this.blobs.set(id, { pack: desc.id, type, offset, length, rawLength })
    }
  }

  /** Records packs; `pending` marks them as not yet covered by an index record in the stores. */
  async addPacks (descs: PackDescriptor[], pending: boolean): Promise<void> {
    const ops: Array<{ type: 'put', key: string, value: Value }> = []
    for (const d of descs) {
      ops.push({ type: 'put', key: `pack!${d.id}`, value: d })
      if (pending) ops.push({ type: 'put', key: `pending!${d.id}`, value: 1 })
    }
    await this.db.batch(ops)
    for (const d of descs) this.addToMemory(d)
  }

  async pendingPacks (): Promise<PackDescriptor[]> {
    const out: PackDescriptor[] = []
    for await (const key of this.db.keys({ gte: 'pending!', lt: 'pending"' })) {
      const d = this.packs.get(key.slice('pending!'.length))
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

  /** Empties the register (before a rebuild). */
  async clear (): Promise<void> {
    await this.db.clear()
    this.blobs.clear()
    this.packs.clear()
  }
}
