import { posix } from 'node:path'
import type { Repository } from '../repository/repository.js'
import type { Tree, TreeNode } from '../format/format.js'
import { NoSuchSnapshotError } from '../errors.js'
import { isSafeName } from './snapshot-path.js'

/**
 * A snapshot's entries in depth-first order, one tree in memory per level of depth (never the whole
 * snapshot): a directory is entered before what it holds and left after it (post-order), so a restore
 * creates parents first and sets their metadata last. Paths are the original absolute paths.
 * With `subPath`, the directories above it are entered and left with `ancestor: true`.
 */
export type WalkEntry =
  | { kind: 'enter', path: string, node: TreeNode, ancestor?: boolean }
  | { kind: 'leave', path: string, node: TreeNode, ancestor?: boolean }
  | { kind: 'file', path: string, node: TreeNode }
  | { kind: 'symlink', path: string, node: TreeNode }

export async function * walkSnapshot (repo: Repository, rootTree: string, subPath?: string, options: { signal?: AbortSignal } = {}): AsyncGenerator<WalkEntry> {
  let tree: Tree = await repo.loadTree(rootTree, options)
  let prefix = '/'
  let selected: TreeNode | undefined
  const ancestors: Array<{ path: string, node: TreeNode }> = []
  const parts = subPath == null ? [] : posix.resolve('/', subPath).split('/').filter(Boolean)
  for (let i = 0; i < parts.length; i++) {
    const node = tree.nodes.find(n => n.name === parts[i])
    if (node == null) throw new NoSuchSnapshotError(`path ${posix.join('/', ...parts.slice(0, i + 1))} is not in the snapshot`)
    const path = posix.join(prefix, node.name)
    if (i < parts.length - 1) {
      if (node.type !== 'dir') throw new NoSuchSnapshotError(`${path} is not a directory in the snapshot`)
      ancestors.push({ path, node })
      tree = await repo.loadTree(node.subtree!, options)
      prefix = path
    } else {
      selected = node
    }
  }
  for (const a of ancestors) yield { kind: 'enter', ...a, ancestor: true }
  if (selected != null) yield * visit(repo, posix.join(prefix, selected.name), selected, options)
  else yield * children(repo, prefix, tree, options)
  for (const a of ancestors.reverse()) yield { kind: 'leave', ...a, ancestor: true }
}

async function * children (repo: Repository, dir: string, tree: Tree, options: { signal?: AbortSignal }): AsyncGenerator<WalkEntry> {
  for (const node of tree.nodes) {
    // a tree is authenticated, but never let a name climb out of the target
    if (!isSafeName(node.name)) continue
    yield * visit(repo, posix.join(dir, node.name), node, options)
  }
}

async function * visit (repo: Repository, path: string, node: TreeNode, options: { signal?: AbortSignal }): AsyncGenerator<WalkEntry> {
  if (node.type === 'dir') {
    yield { kind: 'enter', path, node }
    yield * children(repo, path, await repo.loadTree(node.subtree!, options), options)
    yield { kind: 'leave', path, node }
  } else if (node.type === 'file') {
    yield { kind: 'file', path, node }
  } else if (node.type === 'symlink') {
    yield { kind: 'symlink', path, node }
  }
}

/** How many files and bytes a restore of the snapshot (or of `subPath` in it) writes, for its progress. */
export async function countSnapshot (repo: Repository, rootTree: string, subPath?: string, options: { signal?: AbortSignal } = {}): Promise<{ files: number, bytes: number }> {
  let files = 0
  let bytes = 0
  for await (const e of walkSnapshot(repo, rootTree, subPath, options)) {
    if (e.kind === 'file') { files++; bytes += e.node.size }
  }
  return { files, bytes }
}
