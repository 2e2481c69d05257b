import { chmod, chmodSync, chown, chownSync, close, lchownSync, lutimesSync, mkdirSync, open as openFd, rename, renameSync, rmSync, utimes, utimesSync, write } from 'node:fs'
import { mkdir, symlink } from 'node:fs/promises'
import { promisify } from 'node:util'
import { randomBytes } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { openBlob } from '../repository/blob.js'
import type { Repository } from '../repository/repository.js'
import type { TreeNode } from '../repository/format.js'
import { checkAbort } from '../store/directory-store.js'
import { planRestore, PlannedNode } from './plan.js'

/**
 * Restore: plan the files, then fetch each pack they need once (any k good shards, verified), open and
 * verify every blob, and write it at its offsets into temporary files. A file is renamed into place only
 * when all its chunks are written; a file that needs an unrecoverable pack is reported and removed.
 */
export type RestoreEvent =
  | { type: 'restore:progress', filesDone: number, filesTotal: number, bytesDone: number, bytesTotal: number }
  | { type: 'restore:warning', path: string, message: string }

export interface RestoreOptions {
  /** Restore only this path of the snapshot (an absolute path as backed up). */
  path?: string
  signal?: AbortSignal
  onProgress?: (event: RestoreEvent) => void
  /** Packs fetched at once (default 2). */
  packConcurrency?: number
}

export interface RestoreResult {
  files: number
  dirs: number
  symlinks: number
  bytes: number
  failed: Array<{ path: string, reason: string }>
}

interface FileJob {
  path: string
  node: TreeNode
  final: string
  tmp: string
  remaining: number
  created?: Promise<void>
  done?: boolean
  failed?: string
}

interface Piece { job: FileJob, offset: number }

const PROGRESS_INTERVAL_MS = 100
const fsOpen = promisify(openFd) as (path: string, flags: string, mode?: number) => Promise<number>
const fsWrite = async (fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  await new Promise((resolve, reject) => write(fd, data, offset, length, position, (err, n) => err != null ? reject(err) : resolve(n)))
const fsClose = promisify(close)
const fsChmod = promisify(chmod)
const fsChown = promisify(chown)
const fsUtimes = promisify(utimes)
const fsRename = promisify(rename)

/** A short temporary name beside the final one (any final name up to the 255-byte limit fits). */
function tempName (final: string): string {
  return join(dirname(final), `.hf-${randomBytes(6).toString('hex')}.tmp`)
}
const CREATE_CONCURRENCY = 32

/** Runs tasks with at most `limit` in flight; the others wait their turn in order. */
class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor (private readonly limit: number) {}
  async run<T> (task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>(resolve => this.waiting.push(resolve))
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

/** Runs fn over items with at most `limit` calls in flight. */
async function forEachLimit<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++])
  }))
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

export async function restore (repo: Repository, rootTree: string, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const { signal } = options
  const base = resolve(target)
  const plan = await planRestore(repo, rootTree, options.path, { signal })
  const result: RestoreResult = { files: 0, dirs: plan.dirs.length, symlinks: 0, bytes: 0, failed: [] }
  const at = (p: string): string => join(base, p)
  let filesDone = 0
  let bytesDone = 0
  let last = 0
  const progress = (force = false): void => {
    const now = Date.now()
    if (!force && now - last < PROGRESS_INTERVAL_MS) return
    last = now
    options.onProgress?.({ type: 'restore:progress', filesDone, filesTotal: plan.files.length, bytesDone, bytesTotal: plan.bytes })
  }
  const fail = (job: FileJob, reason: string): void => {
    if (job.failed != null) return
    job.failed = reason
    result.failed.push({ path: job.path, reason })
    options.onProgress?.({ type: 'restore:warning', path: job.path, message: reason })
  }

  // Creating an inode is the expensive call (hundreds of microseconds of kernel time on some disks):
  // directories, files and symlinks are created through the thread pool, many at once, while this
  // thread decrypts; the cheap calls (write, chmod, utimes, rename) are synchronous.
  mkdirSync(base, { recursive: true })
  const byDepth = new Map<number, PlannedNode[]>()
  for (const d of plan.dirs) {
    const depth = d.path.split('/').length
    byDepth.set(depth, [...(byDepth.get(depth) ?? []), d])
  }
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    await forEachLimit(byDepth.get(depth)!, CREATE_CONCURRENCY, async d => { await mkdir(at(d.path), { recursive: true, mode: 0o700 }) })
  }

  // which pieces of which files each pack holds, in order of first use
  const byPack = new Map<string, Map<string, Piece[]>>()
  const jobs: FileJob[] = []
  for (const f of plan.files) {
    const final = at(f.path)
    const job: FileJob = { path: f.path, node: f.node, final, tmp: tempName(final), remaining: f.node.content?.length ?? 0 }
    jobs.push(job)
    let offset = 0
    for (const id of f.node.content ?? []) {
      const loc = repo.register.blobs.get(id)
      if (loc == null) { fail(job, `chunk ${id.slice(0, 12)} is not in the index`); break }
      let blobs = byPack.get(loc.pack)
      if (blobs == null) byPack.set(loc.pack, blobs = new Map())
      let pieces = blobs.get(id)
      if (pieces == null) blobs.set(id, pieces = [])
      pieces.push({ job, offset })
      offset += loc.rawLength
    }
    if (job.failed == null && offset !== f.node.size) fail(job, `its chunks add up to ${offset} bytes, the snapshot says ${f.node.size}`)
  }

  // Every call that touches a file goes through the thread pool: on a busy directory even a rename can
  // take a hundred microseconds, which this thread spends decrypting instead. Metadata is set after every
  // writer has closed its descriptor, then the file is renamed into place.
  const finish = async (job: FileJob): Promise<void> => {
    await fsChmod(job.tmp, job.node.mode)
    if (isRoot) await fsChown(job.tmp, job.node.uid, job.node.gid)
    const t = mtimeOf(job.node)
    await fsUtimes(job.tmp, t, t)
    if (job.failed != null) return
    await fsRename(job.tmp, job.final)
    job.done = true
    result.files++
    result.bytes += job.node.size
  }

  // empty files need no pack
  await forEachLimit(jobs.filter(j => j.failed == null && j.remaining === 0), CREATE_CONCURRENCY, async job => {
    try {
      await fsClose(await fsOpen(job.tmp, 'w', 0o600))
      await finish(job)
    } catch (err) {
      fail(job, (err as Error).message)
    }
    filesDone++
    progress()
  })

  const writePiece = async (piece: Piece, data: Uint8Array): Promise<void> => {
    const { job } = piece
    if (job.failed != null) return
    try {
      // the first writer creates the file; the others wait for that and open it for writing
      let fd: number
      if (job.created == null) {
        const created = fsOpen(job.tmp, 'w', 0o600)
        job.created = created.then(() => {})
        job.created.catch(() => {}) // its failure is handled below, by the writer that created it
        fd = await created
      } else {
        await job.created
        fd = await fsOpen(job.tmp, 'r+')
      }
      try {
        let done = 0
        while (done < data.length) done += (await fsWrite(fd, data, done, data.length - done, piece.offset + done))
      } finally {
        await fsClose(fd)
      }
      // a piece counts once its descriptor is closed without error
      bytesDone += data.length
      if (--job.remaining === 0 && job.failed == null) {
        await finish(job)
        filesDone++
        progress()
      }
    } catch (err) {
      fail(job, (err as Error).message)
    }
  }

  const restorePack = async (packId: string, blobs: Map<string, Piece[]>): Promise<void> => {
    checkAbort(signal)
    const desc = repo.register.packs.get(packId)
    let pack: Buffer
    try {
      if (desc == null) throw new Error(`pack ${packId.slice(0, 12)} is not in the index`)
      pack = await repo.readPack(desc, { signal })
    } catch (err) {
      if (signal?.aborted === true) throw err
      for (const pieces of blobs.values()) for (const p of pieces) fail(p.job, (err as Error).message)
      return
    }
    // open every blob (verified) and start its writes without waiting for them: creating a file is a
    // thread-pool round trip, and a pack holds hundreds of small files
    const writes: Array<Promise<void>> = []
    for (const [id, pieces] of blobs) {
      const loc = repo.register.blobs.get(id)!
      let data: Buffer
      try {
        data = openBlob(repo.keys, loc.type, id, pack.subarray(loc.offset, loc.offset + loc.length), loc.rawLength) // sealed type: see Repository.loadBlob
      } catch (err) {
        for (const p of pieces) fail(p.job, (err as Error).message)
        continue
      }
      for (const p of pieces) writes.push(writeSlots.run(async () => { await writePiece(p, data) }))
    }
    await Promise.all(writes)
  }

  const writeSlots = new Limiter(CREATE_CONCURRENCY)
  const queue = [...byPack.entries()]
  let next = 0
  try {
    const loops = await Promise.allSettled(Array.from({ length: options.packConcurrency ?? 2 }, async () => {
      while (next < queue.length) {
        checkAbort(signal)
        const [packId, blobs] = queue[next++]
        await restorePack(packId, blobs)
      }
    }))
    const failed = loops.find(l => l.status === 'rejected')
    if (failed != null) throw (failed as PromiseRejectedResult).reason
  } finally {
    // every loop has stopped: remove what was not completed (failed, or interrupted)
    for (const job of jobs) {
      if (job.done !== true) rmSync(job.tmp, { force: true })
    }
  }

  await forEachLimit(plan.symlinks, CREATE_CONCURRENCY, async s => {
    const final = at(s.path)
    const tmp = tempName(final)
    try {
      await symlink(s.node.target ?? '', tmp)
      if (isRoot) lchownSync(tmp, s.node.uid, s.node.gid)
      const t = mtimeOf(s.node)
      lutimesSync(tmp, t, t)
      renameSync(tmp, final)
      result.symlinks++
    } catch (err) {
      rmSync(tmp, { force: true })
      result.failed.push({ path: s.path, reason: (err as Error).message })
    }
  })

  // directories last, deepest first, so that writing inside them does not change their mtime again
  for (const d of [...plan.dirs].reverse()) applyDirMetadata(at(d.path), d)
  progress(true)
  return result
}

function applyDirMetadata (path: string, d: PlannedNode): void {
  chmodSync(path, d.node.mode)
  if (isRoot) chownSync(path, d.node.uid, d.node.gid)
  const t = mtimeOf(d.node)
  utimesSync(path, t, t)
}

/**
 * Seconds since the epoch for fs.utimes, which takes a double and truncates it to nanoseconds: the
 * microsecond is exact once half a microsecond is added (a double's error here is about 0.24 us);
 * nanoseconds below that cannot pass through Node's API.
 */
function mtimeOf (node: TreeNode): number {
  const us = BigInt(node.mtime) / 1000n
  return Number(us / 1000000n) + (Number(us % 1000000n) + 0.5) / 1e6
}
