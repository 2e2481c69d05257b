import { chmodSync, chownSync, lchownSync, lutimesSync, mkdirSync, renameSync, rmSync, utimesSync } from 'node:fs'
import { symlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { Repository, workerCount } from '../repository/repository.js'
import { forEachLimit } from '../util/for-each-limit.js'
import type { TreeNode } from '../format/format.js'
import type { BlobLocation } from '../repository/register.js'
import { WorkerPool } from '../worker/pool.js'
import type { FileMeta, PackBlobJob, RestorePackJob, RestorePackResult, RestoreWorkerInit } from '../worker/restore-worker.js'
import { checkAbort } from '../util/check-abort.js'
import { NotFoundError } from '../errors.js'
import { planRestore, PlannedNode } from './plan.js'
import { RestoreTarget, type OverwritePolicy } from './restore-target.js'
import { verifyRestored } from './verify.js'

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
  /** Packs in flight at once (default: one per worker thread, plus one being fetched). */
  packConcurrency?: number
  /** What to do with entries already in the target (default 'if-changed'; see restore-target.ts). */
  overwrite?: OverwritePolicy
  /** Re-read every restored file and check each chunk against its id (see verify.ts). */
  verify?: boolean
}

export interface RestoreResult {
  files: number
  dirs: number
  symlinks: number
  bytes: number
  /** entries left as the target had them (the overwrite policy) */
  skipped: number
  /** files re-read and checked with --verify */
  verified?: number
  /** Entries not restored; `error` names the error class when one was raised (PackUnrecoverableError for a pack with fewer than k good shards). */
  failed: Array<{ path: string, reason: string, error?: string }>
}

interface FileJob {
  path: string
  node: TreeNode
  meta: FileMeta
  /** pieces still to be written (files of more than one blob) */
  remaining: number
  done?: boolean
  failed?: string
}

const PROGRESS_INTERVAL_MS = 100

/** A short temporary name beside the final one (any final name up to the 255-byte limit fits). */
function tempName (final: string): string {
  return join(dirname(final), `.hf-${randomBytes(6).toString('hex')}.tmp`)
}
const CREATE_CONCURRENCY = 32

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

export async function restore (repo: Repository, rootTree: string, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const { signal } = options
  const base = resolve(target)
  const plan = await planRestore(repo, rootTree, options.path, { signal })
  // the tree packs read for the plan are not needed again (up to three whole packs of memory)
  repo.dropPackCache()
  const result: RestoreResult = { files: 0, dirs: plan.dirs.length, symlinks: 0, bytes: 0, skipped: 0, failed: [] }
  const into = new RestoreTarget(base, options.overwrite ?? 'if-changed')
  const at = (p: string): string => into.at(p)
  let filesDone = 0
  let bytesDone = 0
  let last = 0
  const progress = (force = false): void => {
    const now = Date.now()
    if (!force && now - last < PROGRESS_INTERVAL_MS) return
    last = now
    options.onProgress?.({ type: 'restore:progress', filesDone, filesTotal: plan.files.length, bytesDone, bytesTotal: plan.bytes })
  }
  const fail = (job: FileJob, reason: string, error?: string): void => {
    if (job.failed != null) return
    job.failed = reason
    result.failed.push({ path: job.path, reason, ...(error != null ? { error } : {}) })
    filesDone++
    options.onProgress?.({ type: 'restore:warning', path: job.path, message: reason })
  }

  // Creating an inode is the expensive call (hundreds of microseconds of kernel time on some disks):
  // directories are created through the thread pool, many at once, a level at a time (each checked to be
  // a real directory before anything goes below it: see restore-target.ts); files on the worker threads.
  mkdirSync(base, { recursive: true })
  const byDepth = new Map<number, PlannedNode[]>()
  for (const d of plan.dirs) {
    const depth = d.path.split('/').length
    byDepth.set(depth, [...(byDepth.get(depth) ?? []), d])
  }
  const badDirs = new Set<string>()
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    await forEachLimit(byDepth.get(depth)!, CREATE_CONCURRENCY, async d => {
      const problem = await into.ensureDir(d.path)
      if (problem != null) {
        badDirs.add(d.path)
        // reported once, at the highest directory that cannot be used
        if (into.problemOf(d.path) == null) result.failed.push({ path: d.path, reason: problem })
      }
    })
  }

  // which blobs of each pack go where, packs in order of first use
  const byPack = new Map<string, Map<string, PackBlobJob>>()
  const jobs: FileJob[] = []
  const empty: FileMeta[] = []
  for (const f of plan.files) {
    const final = at(f.path)
    const content = f.node.content ?? []
    const meta: FileMeta = { file: jobs.length, tmp: tempName(final), final, mode: f.node.mode, uid: f.node.uid, gid: f.node.gid, mtime: mtimeOf(f.node) }
    const job: FileJob = { path: f.path, node: f.node, meta, remaining: content.length }
    const decision = await into.decide(f.path, f.node)
    if (decision.action === 'skip') { result.skipped++; filesDone++; continue }
    jobs.push(job)
    if (decision.action === 'fail') { fail(job, decision.why); continue }
    let size = 0
    const places: Array<{ loc: BlobLocation, id: string, offset: number }> = []
    for (const id of content) {
      const loc = repo.register.blobs.get(id)
      if (loc == null) { fail(job, `chunk ${id.slice(0, 12)} is not in the index`, 'NotFoundError'); break }
      places.push({ loc, id, offset: size })
      size += loc.rawLength
    }
    if (job.failed != null) continue
    if (size !== f.node.size) { fail(job, `its chunks add up to ${size} bytes, the snapshot says ${f.node.size}`); continue }
    if (content.length === 0) { empty.push(meta); continue }
    for (const { loc, id, offset } of places) {
      let blobs = byPack.get(loc.pack)
      if (blobs == null) byPack.set(loc.pack, blobs = new Map())
      let b = blobs.get(id)
      if (b == null) blobs.set(id, b = { type: loc.type, id, offset: loc.offset, length: loc.length, rawLength: loc.rawLength, whole: [], pieces: [] })
      if (content.length === 1) b.whole.push(meta); else b.pieces.push([meta.file, offset, meta.tmp])
    }
  }

  const pool = new WorkerPool(new URL('../worker/restore-worker.js', import.meta.url), { encKey: repo.keys.encryption, idKey: repo.keys.id, chown: isRoot } satisfies RestoreWorkerInit, workerCount())
  pool.start()

  const completed = (job: FileJob): void => {
    job.done = true
    result.files++
    result.bytes += job.node.size
    filesDone++
    progress()
  }
  const apply = async (r: RestorePackResult): Promise<void> => {
    bytesDone += r.bytes
    for (const f of r.failed) fail(jobs[f.file], f.reason)
    for (const f of r.finished) completed(jobs[f])
    const finishing: Array<Promise<void>> = []
    for (const f of r.written) {
      const job = jobs[f]
      if (--job.remaining === 0 && job.failed == null) {
        // every piece is written and closed: metadata, then the rename
        finishing.push(pool.call('finish', job.meta).then(() => completed(job), err => fail(job, (err as Error).message)))
      }
    }
    await Promise.all(finishing)
    progress()
  }

  const restorePack = async (packId: string, blobs: Map<string, PackBlobJob>): Promise<void> => {
    checkAbort(signal)
    const desc = repo.register.packs.get(packId)
    let pack: Buffer
    try {
      if (desc == null) throw new NotFoundError(`pack ${packId.slice(0, 12)} is not in the index`)
      pack = await repo.readPack(desc, { signal })
    } catch (err) {
      if (signal?.aborted === true) throw err
      const { message: reason, name } = err as Error
      for (const b of blobs.values()) {
        for (const f of b.whole) fail(jobs[f.file], reason, name)
        for (const [file] of b.pieces) fail(jobs[file], reason, name)
      }
      return
    }
    // the decoded pack moves to a worker (no copy) unless it shares its memory with something else
    if (pack.byteOffset !== 0 || pack.buffer.byteLength !== pack.length) pack = Buffer.from(Uint8Array.prototype.slice.call(pack))
    // pieces of files that already failed are not written
    const list = [...blobs.values()].map(b => ({ ...b, whole: b.whole.filter(f => jobs[f.file].failed == null), pieces: b.pieces.filter(([f]) => jobs[f].failed == null) }))
    const job: RestorePackJob = { pack, blobs: list }
    await apply(await pool.call<RestorePackResult>('pack', job, [pack.buffer as ArrayBuffer]))
  }

  const queue = [...byPack.entries()]
  let next = 0
  try {
    if (empty.length > 0) await apply(await pool.call<RestorePackResult>('empty', empty))
    // one pack in flight per worker, and one more being fetched
    const loops = await Promise.allSettled(Array.from({ length: options.packConcurrency ?? pool.size + 1 }, async () => {
      while (next < queue.length) {
        checkAbort(signal)
        const [packId, blobs] = queue[next++]
        await restorePack(packId, blobs)
      }
    }))
    const failed = loops.find(l => l.status === 'rejected')
    if (failed != null) throw (failed as PromiseRejectedResult).reason
  } finally {
    await pool.stop()
    // every loop and worker has stopped: remove what was not completed (failed, or interrupted)
    for (const job of jobs) {
      if (job.done !== true) rmSync(job.meta.tmp, { force: true })
    }
  }

  await forEachLimit(plan.symlinks, CREATE_CONCURRENCY, async s => {
    const final = at(s.path)
    const tmp = tempName(final)
    const decision = await into.decide(s.path, s.node)
    if (decision.action === 'skip') { result.skipped++; return }
    if (decision.action === 'fail') { result.failed.push({ path: s.path, reason: decision.why }); return }
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

  // directories last, deepest first, so that writing inside them does not change their mtime again (a
  // directory that was in the target already keeps its own under --overwrite never, and so does one
  // above the path restored: restoring /home/ann/doc to its original place leaves /home as it is)
  for (const d of [...plan.dirs].reverse()) {
    if (badDirs.has(d.path) || (into.existing.has(d.path) && (into.policy === 'never' || d.ancestor === true))) continue
    applyDirMetadata(at(d.path), d)
  }
  if (options.verify === true) {
    const written = jobs.filter(j => j.done === true)
    const bad = await verifyRestored(repo, written.map(j => ({ path: j.path, file: j.meta.final, content: j.node.content ?? [] })), { signal })
    result.verified = written.length - bad.length
    for (const b of bad) result.failed.push(b)
  }
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
