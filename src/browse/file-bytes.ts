import type { Repository } from '../repository/repository.js'
import type { TreeNode } from '../format/format.js'
import { IntegrityError, NotFoundError } from '../errors.js'
import { checkAbort } from '../util/check-abort.js'

/** Where each chunk of a file starts, from the index (no chunk is fetched). */
export function chunkOffsets (repo: Repository, node: TreeNode): Array<{ id: string, start: number, length: number }> {
  const out: Array<{ id: string, start: number, length: number }> = []
  let at = 0
  for (const id of node.content ?? []) {
    const loc = repo.register.blobs.get(id)
    if (loc == null) throw new NotFoundError(`chunk ${id.slice(0, 12)} of ${node.name} is not in the index`)
    out.push({ id, start: at, length: loc.rawLength })
    at += loc.rawLength
  }
  if (at !== node.size) throw new IntegrityError(`the chunks of ${node.name} add up to ${at} bytes, the snapshot says ${node.size}`)
  return out
}

/**
 * The bytes `start` to `end` (exclusive) of a file of a snapshot, chunk by chunk as they are fetched:
 * each chunk's pack is read from any k good shards (PackIo verifies every shard), and each chunk is
 * decrypted and checked against its id (loadBlob) before any of its bytes is yielded. A chunk that
 * cannot be had ends the stream with its error: never a wrong byte, at worst fewer bytes.
 */
export async function * fileBytes (repo: Repository, node: TreeNode, range: { start?: number, end?: number, signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
  const start = range.start ?? 0
  const end = Math.min(range.end ?? node.size, node.size)
  for (const c of chunkOffsets(repo, node)) {
    if (c.start + c.length <= start) continue
    if (c.start >= end) break
    checkAbort(range.signal)
    const data = await repo.loadBlob(c.id, { signal: range.signal })
    if (data.length !== c.length) throw new IntegrityError(`chunk ${c.id.slice(0, 12)} of ${node.name} is ${data.length} bytes, the index says ${c.length}`)
    yield data.subarray(Math.max(0, start - c.start), Math.min(c.length, end - c.start))
  }
}
