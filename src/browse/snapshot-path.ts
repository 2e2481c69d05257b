import { posix } from 'node:path'
import type { Repository } from '../repository/repository.js'
import type { Tree, TreeNode } from '../format/format.js'
import { NoSuchSnapshotError, UsageError } from '../errors.js'
import { isSafeName } from '../restore/snapshot-path.js'

/** One entry of a snapshot's directory, as the browser shows it. */
export interface SnapshotEntry {
  name: string
  type: 'file' | 'dir' | 'symlink'
  size: number
  /** ISO time, to the millisecond */
  mtime: string
  mode: number
  target?: string
}

/** An absolute path of a snapshot, normalised ('/a/b'); UsageError for anything else. */
export function snapshotPath (path: string | undefined): string {
  if (path == null || path === '') return '/'
  if (!path.startsWith('/') || path.includes('\0') || path.length > 4096) throw new UsageError(`a path in a snapshot is absolute (/like/this), got ${JSON.stringify(path.slice(0, 80))}`)
  return posix.resolve(path)
}

/** The milliseconds of a tree node's nanosecond mtime, as an ISO time. */
export function mtimeIso (node: Pick<TreeNode, 'mtime'>): string {
  return new Date(Number(BigInt(node.mtime) / 1000000n)).toISOString()
}

export function entryOf (node: TreeNode): SnapshotEntry {
  return { name: node.name, type: node.type, size: node.type === 'file' ? node.size : 0, mtime: mtimeIso(node), mode: node.mode, ...(node.target != null ? { target: node.target } : {}) }
}

/**
 * What is at `path` in the snapshot whose root tree is `rootTree`: the node (none for '/') and, for a
 * directory, its tree. One tree per level is loaded (from the register's cache when it has it).
 * NoSuchSnapshotError when the path is not there.
 */
export async function nodeAt (repo: Repository, rootTree: string, path: string, options: { signal?: AbortSignal } = {}): Promise<{ node?: TreeNode, tree?: Tree }> {
  const parts = snapshotPath(path).split('/').filter(Boolean)
  let tree: Tree | undefined = await repo.loadTree(rootTree, options)
  let node: TreeNode | undefined
  for (const [i, part] of parts.entries()) {
    if (tree == null) throw new NoSuchSnapshotError(`${posix.join('/', ...parts.slice(0, i))} is not a directory in the snapshot`)
    node = tree.nodes.find(n => n.name === part && isSafeName(n.name))
    if (node == null) throw new NoSuchSnapshotError(`${path} is not in the snapshot`)
    tree = node.type === 'dir' && node.subtree != null ? await repo.loadTree(node.subtree, options) : undefined
  }
  return { node, tree }
}
