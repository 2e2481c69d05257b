import type { Repository } from '../repository/repository.js'
import type { SnapshotRecord } from '../format/format.js'
import { NoSuchSnapshotError } from '../errors.js'
import { mtimeIso, nodeAt } from './snapshot-path.js'

export interface FileVersion {
  snapshot: string
  time: string
  size: number
  mtime: string
  /** Its content differs from the version in the next older snapshot that has the file (true for the oldest). */
  changed: boolean
}

/**
 * The versions of the file at `path` in the snapshots given (newest first, as given): one per snapshot
 * that holds a file there. Content is compared by chunk ids (keyed hashes of the plaintext).
 */
export async function fileVersions (repo: Repository, snapshots: Array<{ name: string, snapshot: SnapshotRecord }>, path: string, options: { signal?: AbortSignal } = {}): Promise<FileVersion[]> {
  const found: Array<FileVersion & { content: string }> = []
  for (const { name, snapshot } of snapshots) {
    let node
    try {
      node = (await nodeAt(repo, snapshot.tree, path, options)).node
    } catch (err) {
      if ((err as Error).name === NoSuchSnapshotError.name) continue
      throw err
    }
    if (node?.type !== 'file') continue
    found.push({ snapshot: name, time: snapshot.time, size: node.size, mtime: mtimeIso(node), changed: true, content: (node.content ?? []).join(',') })
  }
  return found.map((v, i) => {
    const { content, ...rest } = v
    return { ...rest, changed: i === found.length - 1 || found[i + 1].content !== content }
  })
}
