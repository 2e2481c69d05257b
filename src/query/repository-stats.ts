import type { Repository } from '../repository/repository.js'
import type { SnapshotRecord } from '../format/format.js'
import { checkAbort } from '../util/check-abort.js'

export interface SnapshotStats {
  snapshot: string
  time: string
  hostname: string
  paths: string[]
  files: number
  dirs: number
  /** the bytes a restore writes */
  logicalBytes: number
  /** distinct chunks it references, and their bytes before compression (dedup within it) */
  chunks: number
  uniqueBytes: number
  /** the bytes of chunks no other snapshot references: about what forget + prune of it would free (before compression) */
  exclusiveBytes: number
  /** its chunks as stored: compressed and encrypted, times (k + m) / k for the shards */
  storedBytes: number
  /** logicalBytes / uniqueBytes */
  dedupRatio: number
}

export interface RepositoryStats {
  snapshots: number
  /** the sum of every snapshot's logical bytes */
  logicalBytes: number
  /** distinct data chunks referenced by any snapshot, and their bytes before compression */
  chunks: number
  uniqueBytes: number
  /** the same chunks compressed and encrypted (before erasure coding) */
  compressedBytes: number
  /** every pack's shards, as on the stores (data, trees, indexes, parity, and what prune has yet to free) */
  storedBytes: number
  packs: number
  /** logicalBytes / uniqueBytes */
  dedupRatio: number
  /** uniqueBytes / compressedBytes */
  compressionRatio: number
}

/**
 * Per-snapshot and repository figures. Each snapshot's trees are walked once (one tree per level of
 * depth held); references are counted per blob in typed arrays indexed by the blob index's slots (4 bytes
 * per slot for the count, 4 for the last snapshot seen), never in a map of ids.
 */
export async function repositoryStats (repo: Repository, snapshots: Array<{ name: string, snapshot: SnapshotRecord }>, options: { signal?: AbortSignal } = {}): Promise<{ snapshots: SnapshotStats[], repository: RepositoryStats }> {
  const index = repo.register.blobs
  const refs = new Uint32Array(index.slots)
  const seenIn = new Uint32Array(index.slots)
  const { k, m } = repo.config
  const per: SnapshotStats[] = []

  const walk = async (no: number, treeId: string, visit: (slot: number) => void, counts: { files: number, dirs: number }): Promise<void> => {
    checkAbort(options.signal)
    for (const node of (await repo.loadTree(treeId, options)).nodes) {
      if (node.type === 'dir') {
        counts.dirs++
        if (node.subtree != null) await walk(no, node.subtree, visit, counts)
      } else if (node.type === 'file') {
        counts.files++
        for (const id of node.content ?? []) {
          const slot = index.slot(id)
          if (slot >= 0 && seenIn[slot] !== no) { seenIn[slot] = no; visit(slot) }
        }
      }
    }
  }

  // first pass: each snapshot's distinct chunks, and how many snapshots reference each
  for (let i = 0; i < snapshots.length; i++) {
    const { name, snapshot } = snapshots[i]
    const s: SnapshotStats = { snapshot: name, time: snapshot.time, hostname: snapshot.hostname, paths: snapshot.paths, files: 0, dirs: 0, logicalBytes: snapshot.summary.totalBytes, chunks: 0, uniqueBytes: 0, exclusiveBytes: 0, storedBytes: 0, dedupRatio: 0 }
    const counts = { files: 0, dirs: 0 }
    await walk(i + 1, snapshot.tree, slot => {
      refs[slot]++
      const { rawLength, length } = index.sizesAt(slot)
      s.chunks++
      s.uniqueBytes += rawLength
      s.storedBytes += length
    }, counts)
    s.files = counts.files
    s.dirs = counts.dirs
    s.storedBytes = Math.round(s.storedBytes * (k + m) / k)
    s.dedupRatio = s.uniqueBytes > 0 ? s.logicalBytes / s.uniqueBytes : 1
    per.push(s)
  }
  // second pass: the chunks only one snapshot references
  seenIn.fill(0)
  for (let i = 0; i < snapshots.length; i++) {
    await walk(i + 1, snapshots[i].snapshot.tree, slot => { if (refs[slot] === 1) per[i].exclusiveBytes += index.sizesAt(slot).rawLength }, { files: 0, dirs: 0 })
  }

  const repository: RepositoryStats = { snapshots: snapshots.length, logicalBytes: 0, chunks: 0, uniqueBytes: 0, compressedBytes: 0, storedBytes: 0, packs: repo.register.packs.size, dedupRatio: 1, compressionRatio: 1 }
  for (const s of per) repository.logicalBytes += s.logicalBytes
  for (let slot = 0; slot < refs.length; slot++) {
    if (refs[slot] === 0) continue
    const { rawLength, length } = index.sizesAt(slot)
    repository.chunks++
    repository.uniqueBytes += rawLength
    repository.compressedBytes += length
  }
  for (const p of repo.register.packs.values()) repository.storedBytes += p.shardSize * p.shards.length
  repository.dedupRatio = repository.uniqueBytes > 0 ? repository.logicalBytes / repository.uniqueBytes : 1
  repository.compressionRatio = repository.compressedBytes > 0 ? repository.uniqueBytes / repository.compressedBytes : 1
  return { snapshots: per, repository }
}
