import { chmodSync, chownSync, lchownSync, lutimesSync, mkdirSync, realpathSync, renameSync, rmSync, utimesSync } from 'node:fs'
import { symlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname, join, resolve } from 'node:path'
import { Repository, workerCount } from '../repository/repository.js'
import { forEachLimit } from '../util/for-each-limit.js'
import type { TreeNode } from '../format/format.js'
import { WorkerPool } from '../worker/pool.js'
import type { FileMeta, PackBlobJob, RestorePackJob, RestorePackResult, RestoreWorkerInit } from '../worker/restore-worker.js'
import { checkAbort } from '../util/check-abort.js'
import { NotFoundError } from '../errors.js'
import { walkSnapshot, type WalkEntry } from './snapshot-walk.js'
import { RestorePlan, restoreScope, type PlannedBlob, type PlannedFile } from './restore-plan.js'
import { homePaths } from '../home/home.js'
import { RestoreTarget, type Decision, type OverwritePolicy } from './restore-target.js'
import { verifyRestored } from './verify.js'

/**
 * Restore: walk the snapshot once, creating directories and symlinks and writing down on disk (see
 * restore-plan.ts) what each pack gives to which file; then fetch the packs (any k good shards,
 * verified) in the order the walk first needed them, each once, open and verify every blob, and write it
 * at its offsets into temporary files. A file is renamed into place only when all its chunks are written;
 * a file that needs an unrecoverable pack is reported and removed.
 */
export type RestoreEvent =
  | { type: 'restore:progress', filesDone: number, filesTotal: number, bytesDone: number, bytesTotal: number }
  | { type: 'restore:warning', path: string, message: string }

export interface RestoreOptions {
  /** Restore only this path of the snapshot (an absolute path as backed up). */
  path?: string
  /**
   * The target already claimed by the caller (RestorePlan.claim with the restore's scope), for a caller
   * that changes the target before the restore writes; the restore takes it over and removes it at the end.
   */
  claim?: RestorePlan
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
  /** The most file records held in memory at once: the files of the packs in flight, the larger files under way, a batch to read back (the plan itself is on disk). */
  fileRecordsPeak: number
  /** Temporary files an interrupted restore had left in the target, removed. */
  staleTempsRemoved?: number
}

/** A file being written: what the plan said of it, and the names the workers use. */
interface Writing { planned: PlannedFile, meta: FileMeta }
/** A larger file some of whose pieces are written: removed if the restore stops before the last. */
interface Underway extends Writing { remaining: number }

const PROGRESS_INTERVAL_MS = 100
/** Walk entries handled together: directories created in parallel, files looked at in parallel. */
const ENTRY_BATCH = 256
const EMPTY_BATCH = 256
const VERIFY_BATCH = 256
const CREATE_CONCURRENCY = 32

/** A short temporary name beside the final one (any final name up to the 255-byte limit fits). */
const tempName = (final: string, random: string): string => join(dirname(final), `.hf-${random}.tmp`)

/**
 * The 12 random hex digits of temporary names, drawn 4,096 at a time (a draw per file cost 4% of a
 * restore's main thread): 48 random bits each, as before, so restores side by side do not meet.
 */
function tempNames (): () => string {
  let pool = Buffer.alloc(0)
  let at = 0
  return () => {
    if (at >= pool.length) { pool = randomBytes(6 * 4096); at = 0 }
    at += 6
    return pool.toString('hex', at - 6, at)
  }
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

/**
 * Restores a snapshot's tree (or the part at `options.path`) below `target`. Memory does not grow with the
 * snapshot: the walk holds one tree per level of depth, the plan is on disk, and only the files of the
 * packs in flight (and larger files under way) are held. Entries already complete in the target are
 * skipped (the default policy `if-changed`), so an interrupted restore run again finishes where it
 * stopped; temporary files and plans an interrupted restore left behind are removed.
 */
export async function restore (repo: Repository, rootTree: string, target: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const { signal } = options
  const base = resolve(target)
  const result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, failed: [], fileRecordsPeak: 0 }
  const into = new RestoreTarget(base, options.overwrite ?? 'if-changed')
  const at = (p: string): string => into.at(p)
  const totals = { files: 0, bytes: 0 }
  let filesDone = 0
  let bytesDone = 0
  let last = 0
  const progress = (force = false): void => {
    const now = Date.now()
    if (!force && now - last < PROGRESS_INTERVAL_MS) return
    last = now
    options.onProgress?.({ type: 'restore:progress', filesDone, filesTotal: totals.files, bytesDone, bytesTotal: totals.bytes })
  }

  // larger files with pieces written, by number; files that failed (their later pieces are not written)
  const underway = new Map<number, Underway>()
  const failedFiles = new Set<number>()
  // file records of the packs in flight
  let inFlight = 0
  // temporary names of failed files that a worker may still be writing a piece into: removed at the end
  const abandoned: string[] = []
  // files written or found complete, waiting to be read back (--verify)
  let toVerify: Array<{ path: string, file: string, content: string[] }> = []
  const held = (): void => { result.fileRecordsPeak = Math.max(result.fileRecordsPeak, inFlight + underway.size + toVerify.length) }

  const fail = (w: Writing, reason: string, error?: string): void => {
    if (failedFiles.has(w.planned.file)) return
    failedFiles.add(w.planned.file)
    result.failed.push({ path: w.planned.path, reason, ...(error != null ? { error } : {}) })
    filesDone++
    if (underway.delete(w.planned.file)) abandoned.push(w.meta.tmp)
    options.onProgress?.({ type: 'restore:warning', path: w.planned.path, message: reason })
  }
  const completed = (w: Writing): void => {
    underway.delete(w.planned.file)
    result.files++
    result.bytes += w.planned.size
    filesDone++
    if (options.verify === true) toVerify.push({ path: w.planned.path, file: w.meta.final, content: w.planned.content ?? [] })
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
  // no other restore of this home writing where this one does: the temporaries there would be its own, not
  // a killed restore's, and the two would race on every file (a plan claimed by the caller, as the standby
  // does before it removes anything, is taken over)
  const plan = options.claim ?? await RestorePlan.claim(homePaths(repo.home).restorePlans, restoreScope(realpathSync(base), options.path))
  let pool: WorkerPool
  try {
    result.staleTempsRemoved = await into.removeStaleTemps('/')
    pool = new WorkerPool(new URL('../worker/restore-worker.js', import.meta.url), { encKey: repo.keys.encryption, idKey: repo.keys.id, older: repo.keys.older?.map(k => ({ encryption: k.encryption, id: k.id })), chown: isRoot } satisfies RestoreWorkerInit, workerCount())
    pool.start()
  } catch (err) {
    await plan.destroy()
    throw err
  }

  // a planned file with the names the workers use: its final name in the target, its temporary one beside it
  const writing = (planned: PlannedFile): Writing => {
    const final = at(planned.path)
    return { planned, meta: { file: planned.file, tmp: tempName(final, planned.tmp), final, mode: planned.mode, uid: planned.uid, gid: planned.gid, mtime: planned.mtime } }
  }

  const apply = async (r: RestorePackResult, files: Map<number, Writing>): Promise<void> => {
    bytesDone += r.bytes
    for (const f of r.failed) { const w = files.get(f.file); if (w != null) fail(w, f.reason) }
    for (const f of r.finished) { const w = files.get(f); if (w != null) completed(w) }
    const finishing: Array<Promise<void>> = []
    for (const f of r.written) {
      const w = underway.get(f)
      if (w == null || failedFiles.has(f)) continue
      if (--w.remaining === 0) {
        // every piece is written and closed: metadata, then the rename
        finishing.push(pool.call('finish', w.meta).then(() => completed(w), err => fail(w, (err as Error).message)))
      }
    }
    await Promise.all(finishing)
    progress()
  }

  // one pack: its files' records read back from the plan, the pack fetched and handed to a worker
  const runPack = async (pack: string, blobs: PlannedBlob[]): Promise<void> => {
    const numbers = [...new Set(blobs.map(b => b.file))].filter(f => !failedFiles.has(f))
    if (numbers.length === 0) return
    inFlight += numbers.length
    held()
    try {
      const files = new Map<number, Writing>()
      // files of one blob come with it; larger ones are read from the plan when their first piece comes
      const larger = new Set<number>()
      for (const b of blobs) {
        if (failedFiles.has(b.file) || files.has(b.file)) continue
        if (b.whole != null) { files.set(b.file, writing(b.whole)); continue }
        const u = underway.get(b.file)
        if (u != null) files.set(b.file, u)
        else larger.add(b.file)
      }
      for (const planned of await plan.files([...larger])) {
        const u: Underway = { ...writing(planned), remaining: planned.pieces }
        underway.set(planned.file, u)
        files.set(planned.file, u)
      }
      held()
      checkAbort(signal)
      let data: Buffer
      const desc = repo.register.packs.get(pack)
      try {
        if (desc == null) throw new NotFoundError(`pack ${pack.slice(0, 12)} is not in the index`)
        data = await repo.readPack(desc, { signal })
      } catch (err) {
        if (signal?.aborted === true) throw err
        const { message: reason, name } = err as Error
        for (const w of files.values()) fail(w, reason, name)
        return
      }
      // the decoded pack moves to a worker (no copy) unless it shares its memory with something else
      if (data.byteOffset !== 0 || data.buffer.byteLength !== data.length) data = Buffer.from(Uint8Array.prototype.slice.call(data))
      // pieces of files that failed meanwhile are not written
      const jobs = new Map<string, PackBlobJob>()
      for (const b of blobs) {
        const w = files.get(b.file)
        if (w == null || failedFiles.has(b.file)) continue
        let job = jobs.get(b.id)
        if (job == null) {
          const loc = repo.register.blobs.get(b.id)
          if (loc == null || loc.pack !== pack) { fail(w, `chunk ${b.id.slice(0, 12)} is no longer in pack ${pack.slice(0, 12)}`, 'NotFoundError'); continue }
          jobs.set(b.id, job = { type: loc.type, id: b.id, offset: loc.offset, length: loc.length, rawLength: loc.rawLength, whole: [], pieces: [] })
        }
        if (b.at < 0) job.whole.push(w.meta); else job.pieces.push([b.file, b.at, w.meta.tmp])
      }
      if (jobs.size === 0) return
      const r = await pool.call<RestorePackResult>('pack', { pack: data, blobs: [...jobs.values()] } satisfies RestorePackJob, [data.buffer as ArrayBuffer])
      await apply(r, files)
    } finally {
      inFlight -= numbers.length
    }
  }

  // tasks running (packs, batches of empty files) and how to wait for one to end
  const slots = options.packConcurrency ?? pool.size + 1
  let busy = 0
  let failure: unknown
  let wake: (() => void) | undefined
  const changed = async (): Promise<void> => await new Promise<void>(resolve => { wake = resolve })
  const start = (run: Promise<void>): void => {
    busy++
    run.catch(err => { failure ??= err }).finally(() => {
      busy--
      const w = wake
      wake = undefined
      w?.()
    })
  }
  const check = (): void => {
    if (failure != null) throw failure
    checkAbort(signal)
  }
  const slot = async (): Promise<void> => {
    check()
    while (busy >= slots) { await changed(); check() }
  }

  // empty files need no pack: created (in batches, on the workers) during the walk
  let empties: Writing[] = []
  const dispatchEmpties = async (): Promise<void> => {
    if (empties.length === 0) return
    const batch = new Map(empties.map(w => [w.planned.file, w]))
    empties = []
    await slot()
    start(pool.call<RestorePackResult>('empty', [...batch.values()].map(w => w.meta)).then(async r => await apply(r, batch)))
  }

  let nextFile = 0
  const nextTemp = tempNames()
  const planFile = async (path: string, node: TreeNode): Promise<void> => {
    const content = node.content ?? []
    const planned: PlannedFile = { file: nextFile++, path, tmp: nextTemp(), mode: node.mode, uid: node.uid, gid: node.gid, mtime: mtimeOf(node), size: node.size, pieces: content.length, ...(options.verify === true ? { content } : {}) }
    const w = writing(planned)
    if (content.length === 0) {
      empties.push(w)
      if (empties.length >= EMPTY_BATCH) await dispatchEmpties()
      return
    }
    let size = 0
    const blobs: Array<{ pack: string, id: string, at: number }> = []
    for (const id of content) {
      const loc = repo.register.blobs.get(id)
      if (loc == null) { fail(w, `chunk ${id.slice(0, 12)} is not in the index`, 'NotFoundError'); return }
      blobs.push({ pack: loc.pack, id, at: content.length === 1 ? -1 : size })
      size += loc.rawLength
    }
    if (size !== node.size) { fail(w, `its chunks add up to ${size} bytes, the snapshot says ${node.size}`); return }
    plan.addFile(planned, blobs)
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
      let level = byDepth.get(depth)
      if (level == null) byDepth.set(depth, level = [])
      level.push(e.path)
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
      totals.files++
      totals.bytes += e.node.size
      const decision = decisions[i]
      if (decision.action === 'skip') {
        result.skipped++
        filesDone++
        // a file found complete (same size and mtime) is read back too under --verify
        if (options.verify === true && into.policy === 'if-changed') toVerify.push({ path: e.path, file: at(e.path), content: e.node.content ?? [] })
        continue
      }
      if (decision.action === 'fail') { result.failed.push({ path: e.path, reason: decision.why }); filesDone++; continue }
      await planFile(e.path, e.node)
    }
    // directories' metadata is set last, deepest first (the walk leaves a directory after what it holds),
    // so that writing inside them does not change their mtime again; a directory that was in the target
    // already keeps its own under --overwrite never, and so does one above the path restored (restoring
    // /home/ann/doc to its original place leaves /home as it is)
    for (const e of batch) {
      if (e.kind !== 'leave') continue
      if (badDirs.has(e.path) || into.problemOf(e.path) != null || (into.existing.has(e.path) && (into.policy === 'never' || e.ancestor === true))) continue
      plan.addDir({ path: e.path, mode: e.node.mode, uid: e.node.uid, gid: e.node.gid, mtime: mtimeOf(e.node) })
    }
    await plan.flush()
    held()
    if (toVerify.length >= VERIFY_BATCH) await verifyHeld()
    progress()
  }

  const restoreSymlink = async (path: string, node: TreeNode, decision: Decision): Promise<void> => {
    if (decision.action === 'skip') { result.skipped++; return }
    if (decision.action === 'fail') { result.failed.push({ path, reason: decision.why }); return }
    const final = at(path)
    const tmp = tempName(final, nextTemp())
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
    // the plan: one walk of the snapshot
    let batch: WalkEntry[] = []
    for await (const e of walkSnapshot(repo, rootTree, options.path, { signal })) {
      batch.push(e)
      if (batch.length >= ENTRY_BATCH) {
        check()
        await handleBatch(batch)
        batch = []
      }
    }
    await handleBatch(batch)
    await dispatchEmpties()
    // the tree packs read for the walk are not needed again (up to three whole packs of memory)
    repo.dropPackCache()
    progress(true)
    // the packs, each once, in the order the walk first needed them
    for await (const { pack, blobs } of plan.byPack({ signal })) {
      await slot()
      start(runPack(pack, blobs))
      if (toVerify.length >= VERIFY_BATCH) await verifyHeld()
    }
    while (busy > 0) { check(); await changed() }
    check()
    for await (const d of plan.directories()) {
      checkAbort(signal)
      applyDirMetadata(at(d.path), d)
    }
  } finally {
    // let running tasks end, then stop the workers
    while (busy > 0) await changed()
    await pool.stop()
    // every task and worker has stopped: remove what was not completed (failed, or interrupted)
    for (const w of underway.values()) rmSync(w.meta.tmp, { force: true })
    for (const tmp of abandoned) rmSync(tmp, { force: true })
    await plan.destroy()
  }
  if (toVerify.length > 0) await verifyHeld()
  progress(true)
  return result
}

function applyDirMetadata (path: string, d: { mode: number, uid: number, gid: number, mtime: number }): void {
  chmodSync(path, d.mode)
  if (isRoot) chownSync(path, d.uid, d.gid)
  utimesSync(path, d.mtime, d.mtime)
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
