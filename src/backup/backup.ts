import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { hostname as osHostname, userInfo } from 'node:os'
import { resolve } from 'node:path'
import { setMaxListeners } from 'node:events'
import { existsSync } from 'node:fs'
import { Chunker, gearTable } from '../chunking/index.js'
import { sealBlob } from '../format/blob.js'
import type { Repository } from '../repository/repository.js'
import type { BuiltPack } from '../worker/crypto-worker.js'
import type { BlobType, PackDescriptor, SnapshotRecord, SnapshotSummary, Tree, TreeNode } from '../format/format.js'
import { lockRepository } from '../repository/repository-lock.js'
import { checkAbort } from '../util/check-abort.js'
import { ByteBudget } from '../util/byte-budget.js'
import { SourceNotFoundError } from '../errors.js'
import { Packer } from './packer.js'
import { scan, ScanNode, ScanOptions, ScanProblem } from './scanner.js'

/**
 * A backup session: scan, then read what changed, chunk, deduplicate, seal (on worker threads), pack,
 * erasure-code and store; then write the trees, the index and, only when every pack it needs is
 * stored, the snapshot.
 */
export type BackupEvent =
  | { type: 'backup:phase', phase: 'scan' | 'read' | 'commit' }
  | { type: 'scan:progress', files: number, bytes: number }
  | { type: 'backup:progress', filesDone: number, filesTotal: number, bytesDone: number, bytesTotal: number, bytesStored: number }
  | { type: 'backup:warning', path: string, message: string }

export interface BackupOptions {
  signal?: AbortSignal
  onProgress?: (event: BackupEvent) => void
  /** Absolute paths never backed up (the home and the stores are added automatically). */
  exclude?: string[]
  hostname?: string
  /** Files read at once (default 8). */
  readConcurrency?: number
  /** Exclude patterns, per-directory ignore files and cache directories (see ScanOptions). */
  filter?: Pick<ScanOptions, 'filter' | 'ignoreFile' | 'excludeCaches'>
  /** Rank of a file in the queue (lower first); equal ranks go by most recent change first. */
  priority?: (absPath: string) => number
  /** Tags recorded in the snapshot. */
  tags?: string[]
  /**
   * Watch mode's minimum age: a file changed less than this long before the session is not read now; its
   * previous version stays in the snapshot (a new file is left out) and it is listed in `deferred`.
   */
  minAgeMs?: number
  /** Waited on before each file and each pack upload: the daemon holds backups here while a restore runs. */
  pause?: (signal?: AbortSignal) => Promise<void>
}

export interface BackupResult {
  name: string
  snapshot: SnapshotRecord
  warnings: ScanProblem[]
  /** Files left for a later session by `minAgeMs` (changed too recently). */
  deferred: string[]
}

/** What a file contributes: its chunks; or nothing (failed, or too young: skipped); or its previous node kept as it was. */
interface FileState { content?: string[], failed?: boolean, previous?: TreeNode }

const READ_BLOCK = 4 * 1024 * 1024
/** Never follow a symlink swapped in since the scan, never block on a FIFO swapped in. */
const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK
const SEAL_BATCH_BYTES = 2 * 1024 * 1024
const SEAL_BATCH_COUNT = 512
const IN_FLIGHT_BYTES = 16 * 1024 * 1024
const MAX_UPLOADS = 1
const PROGRESS_INTERVAL_MS = 100

export async function backup (repo: Repository, paths: string[], options: BackupOptions = {}): Promise<BackupResult> {
  const release = await repo.lock('backup', { signal: options.signal })
  try {
    // shared: backups of several homes may run together, but no prune, forget or repair meanwhile
    const lock = await lockRepository(repo, 'shared', 'backup', { ...repo.lockSettings, signal: options.signal })
    try {
      // stores that joined since init (peers paired later) get the key file, the config and the records first
      await repo.seedRecords({ signal: options.signal })
      return await new Session(repo, options).run(paths)
    } finally {
      await lock.release()
    }
  } finally {
    await release()
  }
}

class Session {
  private readonly started = Date.now()
  private readonly signal?: AbortSignal
  private readonly inflight = new Set<string>()
  private readonly budget = new ByteBudget(IN_FLIGHT_BYTES)
  private readonly treePacker: Packer
  private readonly uploads = new ByteBudget(MAX_UPLOADS)
  private readonly onStored: (desc: PackDescriptor) => Promise<void>
  private readonly sealing = new Set<Promise<void>>()
  private readonly gear: Uint32Array
  private readonly state = new Map<ScanNode, FileState>()
  private packsInHand = 0
  private packWaiters: Array<() => void> = []
  private queue: Array<{ type: BlobType, id: Buffer, data: Uint8Array }> = []
  private queueBytes = 0
  private failure?: Error
  private readonly warnings: ScanProblem[] = []
  private readonly deferred: string[] = []
  /** the files and bytes the snapshot's trees hold (its totals) */
  private readonly held = { files: 0, bytes: 0 }
  private readonly stats: SnapshotSummary = {
    filesNew: 0, filesChanged: 0, filesUnchanged: 0, dirs: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, totalFiles: 0, totalBytes: 0, errors: 0, durationMs: 0
  }

  private filesDone = 0
  private bytesDone = 0
  private filesTotal = 0
  private bytesTotal = 0
  private lastProgress = 0

  /** Aborted when the session fails, so that every reader and waiter stops at once. */
  private readonly stop = new AbortController()

  constructor (private readonly repo: Repository, private readonly options: BackupOptions) {
    this.signal = options.signal != null ? AbortSignal.any([options.signal, this.stop.signal]) : this.stop.signal
    // every reader and every wait for the budget listens to this one signal while it waits
    setMaxListeners(0, this.signal)
    this.gear = gearTable(repo.keys.chunker)
    this.onStored = async (desc: PackDescriptor): Promise<void> => {
      await repo.register.addPacks([desc], true)
      for (const b of desc.blobs) this.inflight.delete(b[1])
      this.stats.bytesStored += desc.shardSize * desc.shards.length
    }
    this.treePacker = new Packer(repo, this.onStored, this.signal)
  }

  private fail (err: Error): void {
    this.failure ??= err
    this.stop.abort(err)
  }

  private emit (event: BackupEvent): void {
    this.options.onProgress?.(event)
  }

  /** A problem with one entry; `error` (the default) means it is missing from the snapshot, which is then partial. */
  private warn (path: string, message: string, error = true): void {
    this.warnings.push({ path, message })
    if (error) this.stats.errors++
    this.emit({ type: 'backup:warning', path, message })
  }

  private progress (force = false): void {
    const now = Date.now()
    if (!force && now - this.lastProgress < PROGRESS_INTERVAL_MS) return
    this.lastProgress = now
    this.emit({ type: 'backup:progress', filesDone: this.filesDone, filesTotal: this.filesTotal, bytesDone: this.bytesDone, bytesTotal: this.bytesTotal, bytesStored: this.stats.bytesStored })
  }

  async run (paths: string[]): Promise<BackupResult> {
    const { repo } = this
    const absPaths = [...new Set(paths.map(p => resolve(p)))].sort()
    const missing = absPaths.filter(p => !existsSync(p) && !isDanglingLink(p))
    if (missing.length > 0) throw new SourceNotFoundError(`nothing to back up at ${missing.join(', ')}: no such file or directory`)
    this.emit({ type: 'backup:phase', phase: 'scan' })
    const exclude = [repo.home, ...repo.homeConfig.stores.map(s => s.replace(/^dir:/, '')), ...(this.options.exclude ?? [])]
    const scanned = await scan(absPaths, { ...this.options.filter, signal: this.signal, exclude, onProgress: (files, bytes) => this.emit({ type: 'scan:progress', files, bytes }) })
    for (const p of scanned.problems) this.warn(p.path, p.message)
    this.stats.totalFiles = scanned.files
    this.stats.totalBytes = scanned.bytes
    this.stats.dirs = scanned.dirs
    this.filesTotal = scanned.files
    this.bytesTotal = scanned.bytes

    const host = this.options.hostname ?? osHostname()
    const parent = (await repo.register.snapshots()).filter(s => s.snapshot.hostname === host && sameList(s.snapshot.paths, absPaths)).pop()

    this.emit({ type: 'backup:phase', phase: 'read' })
    try {
      // decide per file: unchanged (reuse its chunk list) or to be read
      const todo: Array<{ node: ScanNode, changed: boolean }> = []
      await this.compare(scanned.root, parent?.snapshot.tree, todo)
      this.order(todo)
      this.progress(true)
      await this.readAll(todo)
      await this.drainSealing()
      this.emit({ type: 'backup:phase', phase: 'commit' })
      const rootTree = await this.writeTree(scanned.root)
      this.stats.totalFiles = this.held.files
      this.stats.totalBytes = this.held.bytes
      await this.treePacker.flush()
      await repo.writeIndex({ signal: this.signal })
      this.stats.durationMs = Date.now() - this.started
      const snapshot: SnapshotRecord = {
        v: 1,
        time: new Date().toISOString(),
        hostname: host,
        username: safeUsername(),
        paths: absPaths,
        tree: rootTree,
        ...(parent != null ? { parent: parent.name } : {}),
        partial: this.stats.errors > 0,
        ...(this.options.tags != null && this.options.tags.length > 0 ? { tags: [...new Set(this.options.tags)].sort() } : {}),
        summary: this.stats
      }
      const name = await repo.commitSnapshot(snapshot, { signal: this.signal })
      this.progress(true)
      return { name, snapshot, warnings: this.warnings, deferred: this.deferred }
    } catch (err) {
      const first = this.failure ?? err
      this.fail(err as Error)
      await Promise.allSettled([...this.sealing])
      await this.treePacker.settle()
      throw first
    }
  }

  /** Walks the scan beside the parent snapshot's tree, reusing the chunk lists of unchanged files. */
  private async compare (dir: ScanNode, parentTree: string | undefined, todo: Array<{ node: ScanNode, changed: boolean }>): Promise<void> {
    checkAbort(this.signal)
    let previous: Map<string, TreeNode> | undefined
    if (parentTree != null) {
      try {
        previous = new Map((await this.repo.loadTree(parentTree, { signal: this.signal })).nodes.map(n => [n.name, n]))
      } catch (err) {
        if (this.signal?.aborted === true) throw err
        previous = undefined // an unreadable parent tree only costs re-reading
      }
    }
    for (const child of dir.children ?? []) {
      const old = previous?.get(child.name)
      if (child.type === 'dir') {
        await this.compare(child, old?.type === 'dir' ? old.subtree : undefined, todo)
      } else if (child.type === 'file') {
        // unchanged: same size, mtime, ctime, inode and mode (a rewrite that puts the old mtime back, as
        // `touch -r` does, still moves ctime); a parent node without ctime (older trees) counts as changed
        if (old?.type === 'file' && old.size === child.size && old.mtime === child.mtime && old.ctime === child.ctime && old.inode === child.inode &&
            old.mode === child.mode && (old.content ?? []).every(id => this.repo.register.blobs.has(id))) {
          this.state.set(child, { content: old.content ?? [] })
          this.stats.filesUnchanged++
          this.filesDone++
          this.bytesDone += child.size
        } else if (this.options.minAgeMs != null && Number(BigInt(child.mtime) / 1000000n) > this.started - this.options.minAgeMs) {
          // changed too recently (it may still be being written): the previous version stays, if there is one
          this.deferred.push(child.path)
          const keep = old?.type === 'file' && (old.content ?? []).every(id => this.repo.register.blobs.has(id)) ? old : undefined
          this.state.set(child, keep != null ? { previous: keep } : { failed: true })
          this.filesDone++
          this.bytesDone += child.size
        } else {
          todo.push({ node: child, changed: old != null })
        }
      }
    }
  }

  /** The queue: by priority rank, then most recently changed first. */
  private order (todo: Array<{ node: ScanNode, changed: boolean }>): void {
    const rank = this.options.priority
    const ranks = new Map(todo.map(t => [t.node, rank?.(t.node.path) ?? 0]))
    todo.sort((a, b) => (ranks.get(a.node)! - ranks.get(b.node)!) || compareMtimeDesc(a.node.mtime, b.node.mtime))
  }

  private async readAll (todo: Array<{ node: ScanNode, changed: boolean }>): Promise<void> {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        if (this.failure != null) throw this.failure
        checkAbort(this.signal)
        const item = todo[next++]
        await this.options.pause?.(this.signal)
        await this.readFile(item.node, item.changed)
      }
    }
    await Promise.all(Array.from({ length: this.options.readConcurrency ?? 8 }, worker))
  }

  private async readFile (node: ScanNode, changed: boolean): Promise<void> {
    let content: string[] = []
    let size = 0
    try {
      // a file written to while it is read is read again once; if it changes again, what was read is kept and reported
      for (let attempt = 0; ; attempt++) {
        const r = await this.readOnce(node)
        content = r.content
        size = r.size
        if (!r.changed) break
        if (attempt === 1) {
          this.warn(node.path, 'changed while being read (read twice); the snapshot holds the second read', false)
          break
        }
        if (node.size > this.repo.config.chunker.minSize) this.bytesDone -= r.size
      }
    } catch (err) {
      if (this.signal?.aborted === true || this.failure != null) throw err
      this.warn(node.path, (err as Error).message)
      this.state.set(node, { failed: true })
      this.filesDone++
      this.bytesDone += Math.max(0, node.size - size)
      return
    }
    const small = node.size <= this.repo.config.chunker.minSize
    node.size = size // what was read is what the snapshot describes
    this.state.set(node, { content })
    if (changed) this.stats.filesChanged++; else this.stats.filesNew++
    this.stats.bytesRead += size
    this.filesDone++
    if (small) this.bytesDone += size // large files were counted as they were read
    this.progress()
  }

  /** Reads a file's chunks once; `changed` when its size or mtime moved while it was read. */
  private async readOnce (node: ScanNode): Promise<{ content: string[], size: number, changed: boolean }> {
    const content: string[] = []
    let size = 0
    const { minSize } = this.repo.config.chunker
    if (node.size <= minSize) {
      const { data, changed } = readSmallFile(node.path, node.size, node.inode, this.repo.config.chunker.maxSize)
      if (data.length > minSize) {
        for (const c of this.chunkAll(data)) content.push(await this.addChunk(c))
      } else if (data.length > 0) {
        content.push(await this.addChunk(data))
      }
      return { content, size: data.length, changed }
    }
    const fh = await open(node.path, READ_FLAGS)
    try {
      const st = await fh.stat({ bigint: true })
      if (!st.isFile() || Number(st.ino) !== node.inode) throw new Error('changed since the scan: no longer the same regular file')
      const chunker = new Chunker(this.gear, this.repo.config.chunker)
      for (;;) {
        checkAbort(this.signal)
        const buf = Buffer.allocUnsafe(READ_BLOCK)
        const { bytesRead } = await fh.read(buf, 0, READ_BLOCK, null)
        if (bytesRead === 0) break
        size += bytesRead
        this.bytesDone += bytesRead
        this.progress()
        for (const c of chunker.push(buf.subarray(0, bytesRead))) content.push(await this.addChunk(c))
      }
      const last = chunker.finish()
      if (last != null) content.push(await this.addChunk(last))
      const after = await fh.stat({ bigint: true })
      return { content, size, changed: after.mtimeNs !== st.mtimeNs || after.size !== BigInt(size) }
    } finally {
      await fh.close()
    }
  }

  private chunkAll (data: Uint8Array): Uint8Array[] {
    const chunker = new Chunker(this.gear, this.repo.config.chunker)
    const out = chunker.push(data)
    const last = chunker.finish()
    if (last != null) out.push(last)
    return out
  }

  /** Identifies a chunk and, unless the repository has it or a pack on its way has it, queues it for sealing. */
  private async addChunk (data: Uint8Array): Promise<string> {
    const id = this.repo.blobId(data)
    const hex = id.toString('hex')
    if (this.repo.register.blobs.has(hex) || this.inflight.has(hex)) return hex
    this.inflight.add(hex)
    this.stats.bytesAdded += data.length
    // built packs not yet stored hold 1.5x a pack size each: stop feeding the workers while they pile up
    while (this.packsInHand >= MAX_UPLOADS) await this.packStored()
    await this.budget.acquire(data.length, this.signal)
    this.queue.push({ type: 'data', id, data })
    this.queueBytes += data.length
    if (this.queueBytes >= SEAL_BATCH_BYTES || this.queue.length >= SEAL_BATCH_COUNT) this.dispatch()
    return hex
  }

  private dispatch (): void {
    const items = this.queue
    const bytes = this.queueBytes
    this.queue = []
    this.queueBytes = 0
    if (items.length === 0) return
    this.track((async () => {
      try {
        for (const built of await this.repo.sealBatch(items)) await this.upload(built)
      } finally {
        this.budget.release(bytes)
      }
    })())
  }

  private track (job: Promise<void>): void {
    const tracked = job.catch(err => { this.fail(err) }).finally(() => this.sealing.delete(tracked))
    this.sealing.add(tracked)
  }

  /** Stores a pack built on a worker, at most MAX_UPLOADS at once. */
  private async upload (built: BuiltPack): Promise<void> {
    this.packsInHand++
    try {
      await this.uploads.acquire(1, this.signal)
      try {
        // checked with the upload slot held: packs queued for the slot wait here too
        await this.options.pause?.(this.signal)
        const desc = await this.repo.storeBuilt(built, { signal: this.signal })
        this.repo.recycle(built)
        await this.onStored(desc)
      } finally {
        this.uploads.release(1)
      }
    } finally {
      this.packsInHand--
      const wake = this.packWaiters
      this.packWaiters = []
      for (const w of wake) w()
    }
  }

  private async packStored (): Promise<void> {
    if (this.failure != null) throw this.failure
    await new Promise<void>(resolve => this.packWaiters.push(resolve))
  }

  private async drainSealing (): Promise<void> {
    this.dispatch()
    while (this.sealing.size > 0) await Promise.race(this.sealing)
    if (this.failure != null) throw this.failure
    for (const built of await this.repo.flushWorkers()) this.track(this.upload(built))
    while (this.sealing.size > 0) await Promise.race(this.sealing)
    if (this.failure != null) throw this.failure
  }

  /** Writes the tree of a directory (children first) and returns its id. Trees already stored are reused. */
  private async writeTree (dir: ScanNode): Promise<string> {
    const nodes: TreeNode[] = []
    for (const child of dir.children ?? []) {
      checkAbort(this.signal)
      const base = { name: child.name, type: child.type, mode: child.mode, mtime: child.mtime, ctime: child.ctime, uid: child.uid, gid: child.gid, inode: child.inode, size: child.size }
      if (child.type === 'file') {
        const st = this.state.get(child)
        if (st == null || st.failed === true) continue
        // the totals count what the snapshot holds: a deferred file's previous version, not the new one
        const node = st.previous ?? { ...base, content: st.content }
        this.held.files++
        this.held.bytes += node.size
        nodes.push(node)
      } else if (child.type === 'dir') {
        nodes.push({ ...base, subtree: await this.writeTree(child) })
      } else {
        nodes.push({ ...base, target: child.target })
      }
    }
    const tree: Tree = { v: 1, nodes }
    const plain = Buffer.from(JSON.stringify(tree))
    const id = this.repo.blobId(plain)
    const hex = id.toString('hex')
    if (!this.repo.register.blobs.has(hex) && !this.inflight.has(hex)) {
      this.inflight.add(hex)
      const sealed = sealBlob(this.repo.keys.encryption, 'tree', id, plain, this.repo.config.compression.level)
      await this.treePacker.add({ type: 'tree', id: hex, sealed, rawLength: plain.length })
      await this.repo.register.putTrees([[hex, tree]])
    }
    return hex
  }
}


/**
 * Reads a small file synchronously: for the tens of thousands of small files of a typical tree, the
 * promise-based API costs several times the system calls themselves on the main thread. The file must
 * still be the regular file the scan saw (same inode); one that grew since is read whole, up to `limit`.
 */
function readSmallFile (path: string, expected: number, inode: number, limit: number): { data: Buffer, changed: boolean } {
  const fd = openSync(path, READ_FLAGS)
  try {
    const st = fstatSync(fd, { bigint: true })
    if (!st.isFile() || Number(st.ino) !== inode) throw new Error('changed since the scan: no longer the same regular file')
    let buf = Buffer.allocUnsafe(expected + 1)
    let len = 0
    for (;;) {
      if (len === buf.length) {
        if (len > limit) throw new Error('grew past the largest chunk while being read; skipped')
        const bigger = Buffer.allocUnsafe(buf.length * 2)
        buf.copy(bigger, 0, 0, len)
        buf = bigger
      }
      const n = readSync(fd, buf, len, buf.length - len, null)
      if (n === 0) break
      len += n
    }
    const after = fstatSync(fd, { bigint: true })
    return { data: buf.subarray(0, len), changed: after.mtimeNs !== st.mtimeNs || after.size !== BigInt(len) }
  } finally {
    closeSync(fd)
  }
}

function compareMtimeDesc (a: string, b: string): number {
  const x = BigInt(a)
  const y = BigInt(b)
  return x > y ? -1 : x < y ? 1 : 0
}

function isDanglingLink (p: string): boolean {
  try { return lstatSync(p).isSymbolicLink() } catch { return false }
}

function sameList (a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function safeUsername (): string {
  try { return userInfo().username } catch { return '' }
}
