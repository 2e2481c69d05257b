import { open } from 'node:fs/promises'
import { constants } from 'node:fs'
import type { Repository } from '../repository/repository.js'
import { checkAbort } from '../util/check-abort.js'

/**
 * `restore --verify`: every restored file is read back from the disk (opened without following a link)
 * and cut at the snapshot's chunk boundaries; each chunk must hash (keyed, as blob ids are) to the id the
 * snapshot names. Returns the files that do not, with why.
 */
export async function verifyRestored (repo: Repository, files: Array<{ path: string, file: string, content: string[] }>, options: { signal?: AbortSignal } = {}): Promise<Array<{ path: string, reason: string }>> {
  const bad: Array<{ path: string, reason: string }> = []
  for (const f of files) {
    checkAbort(options.signal)
    const problem = await verifyFile(repo, f.file, f.content)
    if (problem != null) bad.push({ path: f.path, reason: `verify: ${problem}` })
  }
  return bad
}

async function verifyFile (repo: Repository, path: string, content: string[]): Promise<string | null> {
  let fh
  try { fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW) } catch (err) { return `cannot be read back: ${(err as Error).message}` }
  try {
    let position = 0
    for (const [i, id] of content.entries()) {
      const loc = repo.register.blobs.get(id)
      if (loc == null) return `chunk ${i} is not in the index`
      const buf = Buffer.allocUnsafe(loc.rawLength)
      let got = 0
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, position + got)
        if (bytesRead === 0) break
        got += bytesRead
      }
      if (got !== buf.length) return `shorter than the snapshot's ${content.length} chunks (chunk ${i} cut at ${position + got} bytes)`
      if (!repo.blobId(buf).equals(Buffer.from(id, 'hex'))) return `chunk ${i} (bytes ${position}-${position + buf.length}) differs from the snapshot`
      position += buf.length
    }
    const extra = Buffer.alloc(1)
    if ((await fh.read(extra, 0, 1, position)).bytesRead > 0) return `longer than the snapshot's ${position} bytes`
    return null
  } finally {
    await fh.close()
  }
}
