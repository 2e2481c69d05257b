import { posix } from 'node:path'
import type { Repository } from '../repository/repository.js'
import type { Tree, TreeNode } from '../format/format.js'
import { NoSuchSnapshotError } from '../errors.js'

/**
 * Restore planning: walks a snapshot's trees (or the part below one path) and lists what to create.
 * Paths are the original absolute paths; the restorer puts them below its target.
 */
export interface PlannedNode {
  path: string
  node: TreeNode
  /** A directory above the path restored (restoring /a/b/c: /a and /a/b), not itself restored. */
  ancestor?: boolean
}

export interface RestorePlan {
  dirs: PlannedNode[]
  files: PlannedNode[]
  symlinks: PlannedNode[]
  bytes: number
}

export async function planRestore (repo: Repository, rootTree: string, subPath?: string, options: { signal?: AbortSignal } = {}): Promise<RestorePlan> {
  const plan: RestorePlan = { dirs: [], files: [], symlinks: [], bytes: 0 }
  let tree: Tree = await repo.loadTree(rootTree, options)
  let prefix = '/'
  let selected: TreeNode | undefined
  const parts = subPath == null ? [] : posix.resolve('/', subPath).split('/').filter(Boolean)
  for (let i = 0; i < parts.length; i++) {
    const node = tree.nodes.find(n => n.name === parts[i])
    if (node == null) throw new NoSuchSnapshotError(`path ${posix.join('/', ...parts.slice(0, i + 1))} is not in the snapshot`)
    const path = posix.join(prefix, node.name)
    if (i < parts.length - 1) {
      if (node.type !== 'dir') throw new NoSuchSnapshotError(`${path} is not a directory in the snapshot`)
      plan.dirs.push({ path, node, ancestor: true })
      tree = await repo.loadTree(node.subtree!, options)
      prefix = path
    } else {
      selected = node
    }
  }
  const add = async (path: string, node: TreeNode): Promise<void> => {
    if (node.type === 'dir') {
      plan.dirs.push({ path, node })
      await walk(path, await repo.loadTree(node.subtree!, options))
    } else if (node.type === 'file') {
      plan.files.push({ path, node })
      plan.bytes += node.size
    } else if (node.type === 'symlink') {
      plan.symlinks.push({ path, node })
    }
  }
  const walk = async (dir: string, t: Tree): Promise<void> => {
    for (const node of t.nodes) {
      if (!isSafeName(node.name)) continue // a tree is authenticated, but never let a name climb out of the target
      await add(posix.join(dir, node.name), node)
    }
  }
  if (selected != null) await add(posix.join(prefix, selected.name), selected)
  else await walk(prefix, tree)
  return plan
}

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
