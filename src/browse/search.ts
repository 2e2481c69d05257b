import type { Repository } from '../repository/repository.js'
import type { SnapshotRecord, TreeNode } from '../format/format.js'
import { isSafeName } from '../restore/snapshot-path.js'
import { checkAbort } from '../util/check-abort.js'
import { entryOf, type SnapshotEntry } from './snapshot-path.js'

export interface SearchHit extends SnapshotEntry {
  snapshot: string
  time: string
  path: string
}

export interface SearchOptions {
  /** Hits at most (default 100). */
  limit?: number
  /** Trees read at most over the whole search (default 20000): a search answers in bounded time. */
  maxTrees?: number
  signal?: AbortSignal
}

/**
 * Names matching `match` in the snapshots given (newest first, as given), up to `limit` hits and
 * `maxTrees` trees read. A directory unchanged between snapshots has the same tree id: its hits are
 * found once and repeated for each snapshot that holds it, at no cost.
 */
export async function searchSnapshots (repo: Repository, snapshots: Array<{ name: string, snapshot: SnapshotRecord }>, match: (name: string) => boolean, options: SearchOptions = {}): Promise<{ hits: SearchHit[], truncated: boolean }> {
  const limit = options.limit ?? 100
  let budget = options.maxTrees ?? 20_000
  const hits: SearchHit[] = []
  let truncated = false
  // tree id -> what matches below it (path relative to the tree, node); bounded by the hit limit
  const memo = new Map<string, Array<{ rel: string, node: TreeNode }>>()
  const below = async (treeId: string): Promise<Array<{ rel: string, node: TreeNode }>> => {
    const known = memo.get(treeId)
    if (known != null) return known
    if (budget-- <= 0) { truncated = true; return [] }
    checkAbort(options.signal)
    const found: Array<{ rel: string, node: TreeNode }> = []
    for (const node of (await repo.loadTree(treeId, options)).nodes) {
      if (!isSafeName(node.name)) continue
      if (match(node.name)) found.push({ rel: `/${node.name}`, node })
      if (found.length > limit) break
      if (node.type === 'dir' && node.subtree != null) {
        for (const f of await below(node.subtree)) {
          found.push({ rel: `/${node.name}${f.rel}`, node: f.node })
          if (found.length > limit) break
        }
      }
      if (found.length > limit) break
    }
    memo.set(treeId, found)
    return found
  }
  for (const { name, snapshot } of snapshots) {
    for (const f of await below(snapshot.tree)) {
      if (hits.length >= limit) { truncated = true; break }
      hits.push({ ...entryOf(f.node), snapshot: name, time: snapshot.time, path: f.rel })
    }
    if (hits.length >= limit || budget <= 0) { truncated = truncated || hits.length >= limit; break }
  }
  return { hits, truncated }
}
