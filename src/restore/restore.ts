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
import { countSnapshot, walkSnapshot, type WalkEntry } from './snapshot-walk.js'
import { RestoreTarget, type Decision, type OverwritePolicy } from './restore-target.js'
import { verifyRestored } from './verify.js'

/**
 * Restore: walk the snapshot a window of files at a time, fetch the packs those files need (any k good
 * shards, verified), open and verify every blob, and write it at its offsets into temporary files. A file
 * is renamed into place only when all its chunks are written; a file that needs an unrecoverable pack is
 * reported and removed.
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
  /**
   * File records held at once. Unset (the default), the whole snapshot is planned before the first pack
   * is fetched, and each pack is fetched once: memory grows with the number of files (about 1-2 KB each).
   * Set, the restore's memory no longer grows with the snapshot, but a pack whose files lie in several
   * windows is fetched again for each (kept decoded meanwhile only while it is among the last two used).
   * Measured: 100,000 files whose packs follow the tree restore as fast either way; 200,000 files read
   * by the backup in an order other than the tree's (priority, most recent first) had not finished in
   * 3 minutes against 18 s unbounded. Not offered by the CLI until the plan itself is kept on disk.
   */
  filesInFlight?: number
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
  /** The most file records held at once (at most filesInFlight plus one batch of files to read back). */
  fileRecordsPeak: number
  /** Temporary files an interrupted restore had left in the target, removed. */
  staleTempsRemoved?: number
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

/** The blobs one pack gives to the files in the window (a pack may be visited again by later files). */
interface PackTask { kind: 'pack', pack: string, blobs: Map<string, PackBlobJob> }
/** Files with no content, created in a batch. */
interface EmptyTask { kind: 'empty', files: FileMeta[] }
type Task = PackTask | EmptyTask

const PROGRESS_INTERVAL_MS = 100
/** Walk entries handled together: directories created in parallel, files looked at in parallel. */
const ENTRY_BATCH = 256
/** Packs still gathering blobs; past this many, the oldest is fetched (the walk has moved beyond it). */
const PACKS_GATHERING = 4
/** Decoded packs kept after use, for files further on that need them again (their blobs straddle windows). */
const RECENT_PACKS = 2
const EMPTY_BATCH = 256
const VERIFY_BATCH = 256

/** A short temporary name beside the final one (any final name up to the 255-byte limit fits). */
function tempName (final: string): string {
  return join(dirname(final), `.hf-${randomBytes(6).toString('hex')}.tmp`)
}
const CREATE_CONCURRENCY = 32

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/**
 * Restores a snapshot's tree (or the part at `options.path`) below `target`. The snapshot is walked a tree
 * at a time; with `filesInFlight` set, at most that many file records are held at once, whatever the size
 * of the snapshot (see RestoreOptions.filesInFlight for the cost). Entries already complete in the target
 * are skipped (the default policy `if-changed`), so an interrupted restore run again finishes where it
 * stopped; temporary files an interrupted restore left behind are removed.
 */
export async function restore (repo: Repository, rootTree: string, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const { signal } = options
  const base = resolve(target)
  const window = options.filesInFlight != null ? Math.max(1, options.filesInFlight) : Infinity
  const totals = await countSnapshot(repo, rootTree, options.path, { signal })
  // the tree packs read for the walk are not needed again (up to three whole packs of memory)
  repo.dropPackCache()
  const result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, failed: [], fileRecordsPeak: 0 }
  const into = new RestoreTarget(base, options.overwrite ?? 'if-changed')
  const at = (p: string): string => into.at(p)
  let filesDone = 0
  let bytesDone = 0
  let last = 0
  const progress = (force = false): void => {
    const now = Date.now()
    if (!force && now - last < PROGRESS_INTERVAL_MS) return
    last = now
    options.onProgress?.({ type: 'restore:progress', filesDone, filesTotal: totals.files, bytesDone, bytesTotal: totals.bytes })
  }

  // the file records held now, by number (the workers' results name files by number)
  const live = new Map<number, FileJob>()
  let nextFile = 0
  // temporary names of failed files that a worker may still be writing a piece into: removed at the end
  const abandoned: string[] = []
  // files written or found complete, waiting to be read back (--verify)
  let toVerify: Array<{ path: string, file: string, content: string[] }> = []
  const held = (): void => { result.fileRecordsPeak = Math.max(result.fileRecordsPeak, live.size + toVerify.length) }

  const fail = (job: FileJob, reason: string, error?: string): void => {
    if (job.failed != null) return
    job.failed = reason
    result.failed.push({ path: job.path, reason, ...(error != null ? { error } : {}) })
    filesDone++
    live.delete(job.meta.file)
    if (job.node.content != null && job.node.content.length > 1) abandoned.push(job.meta.tmp)
    options.onProgress?.({ type: 'restore:warning', path: job.path, message: reason })
  }
  const completed = (job: FileJob): void => {
    job.done = true
    live.delete(job.meta.file)
    result.files++
    result.bytes += job.node.size
    filesDone++
    if (options.verify === true) toVerify.push({ path: job.path, file: job.meta.final, content: job.node.content ?? [] })
    progress()
  }
  const verifyHeld = async (): Promise<void> => {
    const batch = toVerify
    toVerify = []
    const bad = await verifyRestored(repo, batch, { signal })
    result.verified = (result.verified ?? 0) + batch.length - bad.length
    for (const b of bad) result.failed.push(b)
  }

  mkdirSync(base, { recursive: true })
  result.staleTempsRemoved = await into.removeStaleTemps('/')
  const pool = new WorkerPool(new URL('../worker/restore-worker.js', import.meta.url), { encKey: repo.keys.encryption, idKey: repo.keys.id, chown: isRoot } satisfies RestoreWorkerInit, workerCount())
  pool.start()

  const apply = async (r: RestorePackResult): Promise<void> => {
    bytesDone += r.bytes
    for (const f of r.failed) { const job = live.get(f.file); if (job != null) fail(job, f.reason) }
    for (const f of r.finished) { const job = live.get(f); if (job != null) completed(job) }
    const finishing: Array<Promise<void>> = []
    for (const f of r.written) {
      const job = live.get(f)
      if (job == null) continue
      if (--job.remaining === 0) {
        // every piece is written and closed: metadata, then the rename
        finishing.push(pool.call('finish', job.meta).then(() => completed(job), err => fail(job, (err as Error).message)))
      }
    }
    await Promise.all(finishing)
    progress()
  }

  // decoded packs kept after a worker handed them back, newest last
  const recent = new Map<string, Buffer>()
  // the task running for a pack: a later task for the same pack waits for it and takes its decoded pack
  const running = new Map<string, Promise<void>>()
  const runPack = async (task: PackTask): Promise<void> => {
    const before = running.get(task.pack)
    let release!: () => void
    const mine = new Promise<void>(resolve => { release = resolve })
    running.set(task.pack, mine)
    try {
      if (before != null) await before
      checkAbort(signal)
      let pack = recent.get(task.pack)
      recent.delete(task.pack)
      if (pack == null) {
        const desc = repo.register.packs.get(task.pack)
        try {
          if (desc == null) throw new NotFoundError(`pack ${task.pack.slice(0, 12)} is not in the index`)
          pack = await repo.readPack(desc, { signal })
        } catch (err) {
          if (signal?.aborted === true) throw err
          const { message: reason, name } = err as Error
          for (const b of task.blobs.values()) {
            for (const f of b.whole) { const job = live.get(f.file); if (job != null) fail(job, reason, name) }
            for (const [file] of b.pieces) { const job = live.get(file); if (job != null) fail(job, reason, name) }
          }
          return
        }
        // the decoded pack moves to a worker (no copy) unless it shares its memory with something else
        if (pack.byteOffset !== 0 || pack.buffer.byteLength !== pack.length) pack = Buffer.from(Uint8Array.prototype.slice.call(pack))
      }
      // pieces of files that already failed are not written
      const blobs: PackBlobJob[] = []
      for (const b of task.blobs.values()) {
        const whole = b.whole.filter(f => live.has(f.file))
        const pieces = b.pieces.filter(([f]) => live.has(f))
        if (whole.length > 0 || pieces.length > 0) blobs.push({ ...b, whole, pieces })
      }
      if (blobs.length === 0) { keep(task.pack, pack); return }
      const job: RestorePackJob = { pack, blobs }
      const r = await pool.call<RestorePackResult>('pack', job, [pack.buffer as ArrayBuffer])
      if (r.pack != null) keep(task.pack, Buffer.from(r.pack.buffer, r.pack.byteOffset, r.pack.byteLength))
      await apply(r)
    } finally {
      release()
      if (running.get(task.pack) === mine) running.delete(task.pack)
    }
  }
  const keep = (pack: string, data: Buffer): void => {
    recent.set(pack, data)
    while (recent.size > RECENT_PACKS) recent.delete(recent.keys().next().value!)
  }

  // tasks: gathering (packs still collecting blobs, oldest first), then queued, then running
  const gathering = new Map<string, PackTask>()
  let empties: FileMeta[] = []
  const queue: Task[] = []
  const slots = options.packConcurrency ?? pool.size + 1
  let busy = 0
  let failure: unknown
  let wake: (() => void) | undefined
  const changed = async (): Promise<void> => await new Promise<void>(resolve => { wake = resolve })
  const pump = (): void => {
    while (busy < slots && queue.length > 0 && failure == null) {
      const task = queue.shift()!
      busy++
      const run = task.kind === 'pack' ? runPack(task) : pool.call<RestorePackResult>('empty', task.files).then(apply)
      run.catch(err => { failure ??= err }).finally(() => {
        busy--
        pump()
        const w = wake
        wake = undefined
        w?.()
      })
    }
  }
  const dispatchOldest = (): boolean => {
    const first = gathering.values().next()
    if (first.done === true) return false
    gathering.delete(first.value.pack)
    queue.push(first.value)
    pump()
    return true
  }
  const dispatchEmpties = (): void => {
    if (empties.length === 0) return
    queue.push({ kind: 'empty', files: empties })
    empties = []
    pump()
  }
  const check = (): void => {
    if (failure != null) throw failure
    checkAbort(signal)
  }

  const addFile = (path: string, node: TreeNode): void => {
    const final = at(path)
    const content = node.content ?? []
    const meta: FileMeta = { file: nextFile++, tmp: tempName(final), final, mode: node.mode, uid: node.uid, gid: node.gid, mtime: mtimeOf(node) }
    const job: FileJob = { path, node, meta, remaining: content.length }
    live.set(meta.file, job)
    held()
    let size = 0
    const places: Array<{ loc: BlobLocation, id: string, offset: number }> = []
    for (const id of content) {
      const loc = repo.register.blobs.get(id)
      if (loc == null) { fail(job, `chunk ${id.slice(0, 12)} is not in the index`, 'NotFoundError'); return }
      places.push({ loc, id, offset: size })
      size += loc.rawLength
    }
    if (size !== node.size) { fail(job, `its chunks add up to ${size} bytes, the snapshot says ${node.size}`); return }
    if (content.length === 0) {
      empties.push(meta)
      if (empties.length >= EMPTY_BATCH) dispatchEmpties()
      return
    }
    for (const { loc, id, offset } of places) {
      let task = gathering.get(loc.pack)
      if (task == null) gathering.set(loc.pack, task = { kind: 'pack', pack: loc.pack, blobs: new Map() })
      let b = task.blobs.get(id)
      if (b == null) task.blobs.set(id, b = { type: loc.type, id, offset: loc.offset, length: loc.length, rawLength: loc.rawLength, whole: [], pieces: [] })
      if (content.length === 1) b.whole.push(meta); else b.pieces.push([meta.file, offset, meta.tmp])
    }
    // bounded: the walk has moved past the oldest packs (unbounded: every pack waits for the whole plan)
    if (window !== Infinity) while (gathering.size > PACKS_GATHERING) dispatchOldest()
  }

  // Creating an inode is the expensive call (hundreds of microseconds of kernel time on some disks):
  // directories are created through the thread pool, many at once, a level at a time (each checked to be
  // a real directory before anything goes below it: see restore-target.ts); files on the worker threads.
  const badDirs = new Set<string>()
  const handleBatch = async (batch: WalkEntry[]): Promise<void> => {
    const byDepth = new Map<number, string[]>()
    for (const e of batch) {
      if (e.kind !== 'enter') continue
      result.dirs++
      const depth = e.path.split('/').length
      byDepth.set(depth, [...(byDepth.get(depth) ?? []), e.path])
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
      await forEachLimit(byDepth.get(depth)!, CREATE_CONCURRENCY, async path => {
        const problem = await into.ensureDir(path)
        if (problem != null) {
          badDirs.add(path)
          // reported once, at the highest directory that cannot be used
          if (into.problemOf(path) == null) result.failed.push({ path, reason: problem })
        } else if (into.existing.has(path)) {
          result.staleTempsRemoved! += await into.removeStaleTemps(path)
        }
      })
    }
    const leaves = batch.filter(e => e.kind === 'file' || e.kind === 'symlink')
    const decisions = new Array<Decision>(leaves.length)
    await forEachLimit(leaves.map((e, i) => i), CREATE_CONCURRENCY, async i => {
      const e = leaves[i]
      decisions[i] = await into.decide(e.path, e.node)
      if (e.kind === 'symlink') await restoreSymlink(e.path, e.node, decisions[i])
    })
    for (let i = 0; i < leaves.length; i++) {
      const e = leaves[i]
      if (e.kind !== 'file') continue
      const decision = decisions[i]
      if (decision.action === 'skip') {
        result.skipped++
        filesDone++
        // a file found complete (same size and mtime) is read back too under --verify
        if (options.verify === true && into.policy === 'if-changed') toVerify.push({ path: e.path, file: at(e.path), content: e.node.content ?? [] })
        continue
      }
      if (decision.action === 'fail') { result.failed.push({ path: e.path, reason: decision.why }); filesDone++; continue }
      addFile(e.path, e.node)
      // the window is full: send what is gathered, then wait for files to complete
      while (live.size >= window) {
        check()
        if (!dispatchOldest()) {
          dispatchEmpties()
          // every file held has its work queued or running (see addFile): a completion frees room
          if (busy === 0 && queue.length === 0) break
          await changed()
        }
      }
    }
    held()
    if (toVerify.length >= VERIFY_BATCH) await verifyHeld()
    progress()
  }

  const restoreSymlink = async (path: string, node: TreeNode, decision: Decision): Promise<void> => {
    if (decision.action === 'skip') { result.skipped++; return }
    if (decision.action === 'fail') { result.failed.push({ path, reason: decision.why }); return }
    const final = at(path)
    const tmp = tempName(final)
    try {
      await symlink(node.target ?? '', tmp)
      if (isRoot) lchownSync(tmp, node.uid, node.gid)
      const t = mtimeOf(node)
      lutimesSync(tmp, t, t)
      renameSync(tmp, final)
      result.symlinks++
    } catch (err) {
      rmSync(tmp, { force: true })
      result.failed.push({ path, reason: (err as Error).message })
    }
  }

  try {
    let batch: WalkEntry[] = []
    for await (const e of walkSnapshot(repo, rootTree, options.path, { signal })) {
      if (e.kind === 'leave') continue // directories' metadata is set last (below)
      batch.push(e)
      if (batch.length >= ENTRY_BATCH) {
        check()
        await handleBatch(batch)
        batch = []
      }
    }
    await handleBatch(batch)
    // the walk is over: send everything gathered and wait for the last files
    while (gathering.size > 0) dispatchOldest()
    dispatchEmpties()
    while (busy > 0 || queue.length > 0) {
      check()
      await changed()
    }
    check()
  } finally {
    // stop the queue, let running tasks end, then stop the workers
    queue.length = 0
    while (busy > 0) await changed()
    await pool.stop()
    // every task and worker has stopped: remove what was not completed (failed, or interrupted)
    for (const job of live.values()) rmSync(job.meta.tmp, { force: true })
    for (const tmp of abandoned) rmSync(tmp, { force: true })
  }

  // directories last, deepest first (the walk leaves a directory after what it holds), so that writing
  // inside them does not change their mtime again (a directory that was in the target already keeps its
  // own under --overwrite never, and so does one above the path restored: restoring /home/ann/doc to its
  // original place leaves /home as it is)
  for await (const e of walkSnapshot(repo, rootTree, options.path, { signal })) {
    if (e.kind !== 'leave') continue
    if (badDirs.has(e.path) || into.problemOf(e.path) != null || (into.existing.has(e.path) && (into.policy === 'never' || e.ancestor === true))) continue
    applyDirMetadata(at(e.path), e.node)
  }
  if (toVerify.length > 0) await verifyHeld()
  progress(true)
  return result
}

function applyDirMetadata (path: string, node: TreeNode): void {
  chmodSync(path, node.mode)
  if (isRoot) chownSync(path, node.uid, node.gid)
  const t = mtimeOf(node)
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
