import type { Repository } from '../repository/repository.js'
import type { Tree, TreeNode, NodeType } from '../format/format.js'
import { isSafeName } from '../restore/snapshot-path.js'
import { checkAbort } from '../util/check-abort.js'

/**
 * `+` added, `-` removed, `M` content changed (a file's chunks, a symlink's target), `T` type changed,
 * `U` metadata only (mode, owner; a file's mtime too). A directory's own mtime moves whenever something
 * in it does, so it is not reported on its own.
 */
export type Change = '+' | '-' | 'M' | 'T' | 'U'

export interface DiffEntry {
  path: string
  change: Change
  /** the entry's type (in the second snapshot, or the first one when removed) */
  type: NodeType
  /** a file's size (the second snapshot's, or the first's when removed) */
  size?: number
}

export interface DiffSummary {
  added: { files: number, dirs: number, symlinks: number, bytes: number }
  removed: { files: number, dirs: number, symlinks: number, bytes: number }
  modified: number
  typeChanged: number
  metadata: number
}

export const emptyDiffSummary = (): DiffSummary => ({
  added: { files: 0, dirs: 0, symlinks: 0, bytes: 0 },
  removed: { files: 0, dirs: 0, symlinks: 0, bytes: 0 },
  modified: 0,
  typeChanged: 0,
  metadata: 0
})

/** Folds one entry into the summary. Pure. */
export function countChange (summary: DiffSummary, e: DiffEntry): void {
  if (e.change === '+' || e.change === '-') {
    const side = e.change === '+' ? summary.added : summary.removed
    if (e.type === 'file') { side.files++; side.bytes += e.size ?? 0 } else if (e.type === 'dir') side.dirs++; else side.symlinks++
  } else if (e.change === 'M') summary.modified++
  else if (e.change === 'T') summary.typeChanged++
  else summary.metadata++
}

const sameContent = (a: TreeNode, b: TreeNode): boolean =>
  a.type === 'symlink' ? a.target === b.target : a.size === b.size && (a.content ?? []).join() === (b.content ?? []).join()
const sameMeta = (a: TreeNode, b: TreeNode): boolean =>
  a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && (a.type === 'dir' || String(a.mtime) === String(b.mtime))

/**
 * The differences from tree `a` to tree `b` (either may be absent: everything is added or removed), in
 * path order. Subtrees with the same id are equal and not read: a diff of two snapshots of a large,
 * little-changed tree reads only the directories on the way to what changed. One tree per level of depth
 * on each side is held at once.
 */
export async function * diffTrees (repo: Repository, a: string | undefined, b: string | undefined, prefix = '', options: { signal?: AbortSignal } = {}): AsyncGenerator<DiffEntry> {
  if (a === b) return
  checkAbort(options.signal)
  const load = async (id: string | undefined): Promise<Map<string, TreeNode>> => {
    if (id == null) return new Map()
    const tree: Tree = await repo.loadTree(id, options)
    return new Map(tree.nodes.filter(n => isSafeName(n.name)).map(n => [n.name, n]))
  }
  const left = await load(a)
  const right = await load(b)
  const names = [...new Set([...left.keys(), ...right.keys()])].sort()
  for (const name of names) {
    const path = `${prefix}/${name}`
    const x = left.get(name)
    const y = right.get(name)
    if (x == null || y == null) {
      const node = (x ?? y)!
      const change = x == null ? '+' : '-'
      yield { path, change, type: node.type, ...(node.type === 'file' ? { size: node.size } : {}) }
      if (node.type === 'dir') yield * diffTrees(repo, x?.subtree, y?.subtree, path, options)
      continue
    }
    if (x.type !== y.type) {
      yield { path, change: 'T', type: y.type, ...(y.type === 'file' ? { size: y.size } : {}) }
      // what a directory held (or holds now) is removed (or added) with it
      if (x.type === 'dir' || y.type === 'dir') yield * diffTrees(repo, x.type === 'dir' ? x.subtree : undefined, y.type === 'dir' ? y.subtree : undefined, path, options)
      continue
    }
    if (x.type !== 'dir' && !sameContent(x, y)) yield { path, change: 'M', type: y.type, ...(y.type === 'file' ? { size: y.size } : {}) }
    else if (!sameMeta(x, y)) yield { path, change: 'U', type: y.type, ...(y.type === 'file' ? { size: y.size } : {}) }
    if (x.type === 'dir') yield * diffTrees(repo, x.subtree, y.subtree, path, options)
  }
}
