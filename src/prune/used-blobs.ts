import type { Repository } from '../repository/repository.js'
import { checkAbort } from '../util/check-abort.js'

/**
 * Every blob the snapshots need: their trees, and the chunks of every file in them. A tree that cannot
 * be loaded throws: prune must never guess what is unused.
 */
export async function usedBlobs (repo: Repository, options: { signal?: AbortSignal } = {}): Promise<Set<string>> {
  const used = new Set<string>()
  const pending: string[] = []
  for (const { snapshot } of await repo.register.snapshots()) pending.push(snapshot.tree)
  while (pending.length > 0) {
    checkAbort(options.signal)
    const id = pending.pop()!
    if (used.has(id)) continue
    used.add(id)
    const tree = await repo.loadTree(id, options)
    for (const node of tree.nodes) {
      if (node.type === 'dir' && node.subtree != null && !used.has(node.subtree)) pending.push(node.subtree)
      else if (node.type === 'file') for (const c of node.content ?? []) used.add(c)
    }
  }
  return used
}
