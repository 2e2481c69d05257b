import { Zip, ZipPassThrough } from 'fflate'
import type { Repository } from '../repository/repository.js'
import type { Tree } from '../format/format.js'
import { isSafeName } from '../restore/snapshot-path.js'
import { checkAbort } from '../util/check-abort.js'
import { fileBytes } from './file-bytes.js'

export interface ZipFolderOptions {
  signal?: AbortSignal
  /** Told of each file as it is added (its path in the zip). */
  onFile?: (path: string) => void
}

/**
 * A folder of a snapshot as a zip, produced as it is read: directories depth first (only the trees on
 * the way down are in memory), each file's chunks fetched and verified (fileBytes) and passed through
 * uncompressed (the data is mostly compressed already; the zip's own CRC covers each entry). Entries
 * are named below `root` (the folder's own name); symlinks are left out. Zip without ZIP64: a file of
 * 4 GiB or more cannot be read back from it by every unzipper.
 */
export async function * zipFolder (repo: Repository, tree: Tree, root: string, options: ZipFolderOptions = {}): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = []
  let failure: Error | undefined
  const zip = new Zip((err, data, _final) => {
    if (err != null) failure = err
    else if (data.length > 0) out.push(data)
  })
  const drain = function * (): Generator<Uint8Array> {
    if (failure != null) throw failure
    while (out.length > 0) yield out.shift()!
  }
  const walk = async function * (dir: string, t: Tree): AsyncGenerator<Uint8Array> {
    for (const node of t.nodes) {
      checkAbort(options.signal)
      if (!isSafeName(node.name)) continue
      const name = `${dir}/${node.name}`
      const mtime = new Date(Number(BigInt(node.mtime) / 1000000n))
      if (node.type === 'dir') {
        const entry = new ZipPassThrough(`${name}/`)
        entry.mtime = mtime
        zip.add(entry)
        entry.push(new Uint8Array(0), true)
        yield * drain()
        if (node.subtree != null) yield * walk(name, await repo.loadTree(node.subtree, options))
      } else if (node.type === 'file') {
        options.onFile?.(name)
        const entry = new ZipPassThrough(name)
        entry.mtime = mtime
        entry.attrs = (node.mode & 0o777) << 16
        entry.os = 3 // unix: the mode in attrs
        zip.add(entry)
        for await (const bytes of fileBytes(repo, node, { signal: options.signal })) {
          entry.push(bytes)
          yield * drain()
        }
        entry.push(new Uint8Array(0), true)
        yield * drain()
      }
    }
  }
  try {
    yield * walk(root, tree)
    zip.end()
    yield * drain()
  } finally {
    zip.terminate()
  }
}
