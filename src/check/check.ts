import { fastMerkleRoot } from '../audit/index.js'
import { openBlob } from '../format/blob.js'
import type { Repository } from '../repository/repository.js'
import type { PackLayout } from '../format/format.js'
import { hashName } from '../store/index.js'

/**
 * Repository check. The structure check loads every snapshot's trees, confirms each blob they need is in
 * the index, and asks the stores whether each shard is present. With readData, every shard of every pack
 * is fetched and verified against its name and Merkle root, and every pack that can be decoded is
 * decoded and each of its blobs opened and verified.
 */
export interface PackHealth {
  pack: string
  good: number
  total: number
  needed: number
  problems: string[]
}

export interface CheckResult {
  snapshots: number
  trees: number
  packs: PackHealth[]
  errors: string[]
}

export type CheckEvent = { type: 'check:pack', done: number, total: number }

export async function check (repo: Repository, options: { readData?: boolean, signal?: AbortSignal, onProgress?: (e: CheckEvent) => void } = {}): Promise<CheckResult> {
  const { signal } = options
  const result: CheckResult = { snapshots: 0, trees: 0, packs: [], errors: [] }
  const seenTrees = new Set<string>()
  const walk = async (id: string, path: string): Promise<void> => {
    if (seenTrees.has(id)) return
    seenTrees.add(id)
    let tree
    try { tree = await repo.loadTree(id, { signal }) } catch (err) { result.errors.push(`tree ${id.slice(0, 12)} (${path}): ${(err as Error).message}`); return }
    for (const node of tree.nodes) {
      const p = `${path === '/' ? '' : path}/${node.name}`
      if (node.type === 'dir' && node.subtree != null) await walk(node.subtree, p)
      for (const c of node.content ?? []) {
        if (!repo.register.blobs.has(c)) result.errors.push(`${p}: chunk ${c.slice(0, 12)} is not in the index`)
      }
    }
  }
  for (const { name, snapshot } of await repo.register.snapshots()) {
    result.snapshots++
    if (!repo.register.blobs.has(snapshot.tree)) { result.errors.push(`snapshot ${name.slice(0, 8)}: root tree is not in the index`); continue }
    await walk(snapshot.tree, '/')
  }
  result.trees = seenTrees.size
  const packs = [...repo.register.packs.values()]
  let done = 0
  for (const desc of packs) {
    result.packs.push(options.readData === true ? await readPackHealth(repo, desc, signal) : await packPresence(repo, desc, signal))
    options.onProgress?.({ type: 'check:pack', done: ++done, total: packs.length })
  }
  for (const h of result.packs) {
    if (h.good < h.needed) result.errors.push(`pack ${h.pack.slice(0, 12)} is unrecoverable: ${h.good}/${h.total} good shards, needs ${h.needed}`)
  }
  return result
}

async function packPresence (repo: Repository, desc: PackLayout, signal?: AbortSignal): Promise<PackHealth> {
  const h: PackHealth = { pack: desc.id, good: 0, total: desc.shards.length, needed: desc.k, problems: [] }
  await Promise.all(desc.shards.map(async (s, i) => {
    const problems: string[] = []
    for (const store of repo.storesFor(s.store)) {
      try {
        if (await store.has('shard', s.name, { signal })) { h.good++; return }
      } catch (err) {
        problems.push(`shard ${i} on ${store.id}: ${(err as Error).message}`)
      }
    }
    h.problems.push(problems.length > 0 ? problems.join('; ') : `shard ${i} missing from ${s.store}`)
  }))
  return h
}

async function readPackHealth (repo: Repository, desc: PackLayout, signal?: AbortSignal): Promise<PackHealth> {
  const h: PackHealth = { pack: desc.id, good: 0, total: desc.shards.length, needed: desc.k, problems: [] }
  const shards: Array<Uint8Array | null> = await Promise.all(desc.shards.map(async (s, i) => {
    const r = await repo.fetchShard(desc, i, { signal })
    if (r.data == null) { h.problems.push(r.problem!); return null }
    if (Buffer.from(fastMerkleRoot(r.data, desc.segmentSize)).toString('hex') !== s.root) { h.problems.push(`shard ${i}: Merkle root mismatch`); return null }
    h.good++
    return r.data
  }))
  if (h.good < desc.k) return h
  try {
    const decoded = await repo.codecFor(desc).decode(shards, desc.shardSize, desc.length, { signal })
    const bytes = Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength)
    if (hashName(bytes) !== desc.id) { h.problems.push('decoded pack does not match its id'); h.good = 0; return h }
    const full = await repo.register.packDescriptor(desc.id)
    if (full == null) { h.problems.push('its blob list is not in the register'); return h }
    for (const [type, id, offset, length, rawLength] of full.blobs) {
      try { openBlob(repo.keys, type, id, bytes.subarray(offset, offset + length), rawLength) } catch (err) { h.problems.push(`${type} blob ${id.slice(0, 12)}: ${(err as Error).message}`) }
    }
  } catch (err) {
    h.problems.push(`decode: ${(err as Error).message}`)
  }
  return h
}
