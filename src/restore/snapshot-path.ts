import { posix } from 'node:path'
import type { Repository } from '../repository/repository.js'
import type { Tree, TreeNode } from '../format/format.js'
import { NoSuchSnapshotError } from '../errors.js'

/** A name of a tree that may be created below a target: never empty, `.`, `..`, or with a slash or NUL. */
export function isSafeName (name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0')
}

/** Finds the node at `path` in a snapshot, for `ls`. */
export async function findNode (repo: Repository, rootTree: string, path: string): Promise<{ node?: TreeNode, tree?: Tree }> {
  const parts = posix.resolve('/', path).split('/').filter(Boolean)
  let tree = await repo.loadTree(rootTree)
  let node: TreeNode | undefined
  for (const part of parts) {
    node = tree.nodes.find(n => n.name === part)
    if (node == null) throw new NoSuchSnapshotError(`path ${path} is not in the snapshot`)
    if (node.type === 'dir') tree = await repo.loadTree(node.subtree!)
    else if (part !== parts[parts.length - 1]) throw new NoSuchSnapshotError(`${path}: ${part} is not a directory`)
  }
  return node == null || node.type === 'dir' ? { node, tree } : { node }
}
