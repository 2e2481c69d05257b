import { closeSync, constants, fchmodSync, futimesSync, mkdirSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'
import { fileContent, fileMeta, type LeafDir, type TreeSpec } from './seeded-tree.js'

/**
 * Writes some leaf directories of a seeded tree (see seeded-tree.ts) with synchronous file calls: each file
 * created exclusively, written, given its mode and mtime, closed. Answers { files, bytes } when done.
 */
export interface WriterJob { root: string, spec: TreeSpec, leaves: LeafDir[] }

const { root, spec, leaves } = workerData as WriterJob
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
let files = 0
let bytes = 0
for (const leaf of leaves) {
  const dir = join(root, leaf.path)
  mkdirSync(dir, { mode: 0o755 })
  for (let n = 0; n < leaf.count; n++) {
    const meta = fileMeta(spec, leaf.first + n, n)
    const data = fileContent(spec.seed, meta.contentOf)
    const fd = openSync(join(dir, meta.name), CREATE, 0o600)
    try {
      let done = 0
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, done)
      fchmodSync(fd, meta.mode)
      futimesSync(fd, meta.mtime, meta.mtime)
    } finally {
      closeSync(fd)
    }
    files++
    bytes += data.length
  }
}
parentPort!.postMessage({ files, bytes })
