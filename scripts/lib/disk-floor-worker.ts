import { closeSync, constants, openSync, readFileSync, readlinkSync, symlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * One thread of the disk floor (disk-floor.ts): reads its share of the tree's files and symlinks into
 * memory, answers 'loaded', and on 'go' writes them all under the destination with synchronous calls, as
 * the restore's worker threads do (create exclusively, write, close; no fsync, as restore does none),
 * then answers 'written'.
 */
export interface FloorJob { src: string, dest: string, entries: Array<[rel: string, symlink: boolean]> }

const { src, dest, entries } = workerData as FloorJob
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
const data: Array<Buffer | string> = entries.map(([rel, link]) => link ? readlinkSync(join(src, rel)) : readFileSync(join(src, rel)))
const bytes = data.reduce((s, d) => s + (typeof d === 'string' ? 0 : d.length), 0)
parentPort!.once('message', () => {
  for (let i = 0; i < entries.length; i++) {
    const path = join(dest, entries[i][0])
    const d = data[i]
    if (typeof d === 'string') { symlinkSync(d, path); continue }
    const fd = openSync(path, CREATE, 0o644)
    try {
      let done = 0
      while (done < d.length) done += writeSync(fd, d, done, d.length - done, done)
    } finally {
      closeSync(fd)
    }
  }
  parentPort!.postMessage({ op: 'written' })
})
parentPort!.postMessage({ op: 'loaded', bytes })
