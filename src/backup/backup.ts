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
import { SourceNotFoundError, UsageError } from '../errors.js'
import { isSafeName } from '../restore/snapshot-path.js'
import { samePaths } from '../repository/snapshot-filter.js'
import { Packer } from './packer.js'
import { scan, Scanner, ScanFilter, ScanNode, ScanOptions, ScanProblem } from './scanner.js'
import { ReadQueue } from './read-queue.js'

/**
 * A backup session: walk the selected paths a directory at a time beside the parent snapshot's trees,
 * read what changed, chunk, deduplicate, seal (on worker threads), pack, erasure-code and store; write
 * each directory's tree as soon as what it holds is done; then the index and, only when every pack it
 * needs is stored, the snapshot. At most FILES_IN_FLIGHT files are being read or waiting to be, so the
 * session's memory does not grow with the number of files.
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
  /** Files waiting to be read or being read, at most (default FILES_IN_FLIGHT): bounds the session's memory. */
  filesInFlight?: number
  /** Exclude patterns, per-directory ignore files and cache directories (see ScanOptions). */
  filter?: Pick<ScanOptions, 'filter' | 'ignoreFile' | 'excludeCaches'>
  /**
   * Rank of a file in the queue (lower first); equal ranks go by most recent change first. The queue is
   * the window of files in flight (all of them when the selection has fewer than filesInFlight files).
   */
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
  /**
   * Back up a stream instead of paths (`backup --stdin`, a command's output): the snapshot holds one file,
   * `/NAME`, chunked and deduplicated like any file. `ended`, when given, is awaited once the stream is
   * read, before anything is committed: it throws when the source failed (a command's exit status), and
   * then no snapshot is written.
   */
  stream?: StreamSource
}

export interface StreamSource {
  /** the file's name in the snapshot (one path component) */
  name: string
  input: AsyncIterable<Uint8Array>
  ended?: () => Promise<void>
  /** Called once the backup is over, whatever its outcome (a command not read to its end is stopped). */
  close?: () => void
}

export interface BackupResult {
  name: string
  snapshot: SnapshotRecord
  warnings: ScanProblem[]
  /** Files left for a later session by `minAgeMs` (changed too recently). */
  deferred: string[]
}

/** What a file read contributes: its chunks; or nothing (failed). */
interface FileState { content?: string[], failed?: boolean }

/** A file waiting for a reader. */
interface PendingRead { node: ScanNode, changed: boolean, resolve: (s: FileState) => void, reject: (e: unknown) => void }

const READ_BLOCK = 4 * 1024 * 1024
/** Never follow a symlink swapped in since the scan, never block on a FIFO swapped in. */
const READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK
const SEAL_BATCH_BYTES = 2 * 1024 * 1024
const SEAL_BATCH_COUNT = 512
const IN_FLIGHT_BYTES = 16 * 1024 * 1024
const MAX_UPLOADS = 1
const PROGRESS_INTERVAL_MS = 100
/** Files being read or waiting to be, by default. */
export const FILES_IN_FLIGHT = 16384

export async function backup (repo: Repository, paths: string[], options: BackupOptions = {}): Promise<BackupResult> {
  try {
    const release = await repo.lock('backup', { signal: options.signal })
    try {
      // shared: backups of several homes may run together, but no prune, forget or repair meanwhile
      const lock = await lockRepository(repo, 'shared', 'backup', { ...repo.lockSettings, signal: options.signal })
      try {
        // stores that joined since init (peers paired later) get the key file, the config and the records first
        await repo.seedRecords({ signal: options.signal })
        const session = new Session(repo, options)
        return options.stream != null ? await session.runStream(options.stream) : await session.run(paths)
      } finally {
        await lock.release()
      }
    } finally {
      await release()
    }
  } finally {
    // a source not read to its end (the backup failed) is stopped
    options.stream?.close?.()
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
  private readonly window: ByteBudget
  private readonly reads = new ReadQueue<PendingRead>()
  private readers = 0
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
  private progressTimer?: NodeJS.Timeout
  /** the session is over: no progress is told after its end */
  private ended = false

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
      this.progress()
    }
    this.treePacker = new Packer(repo, this.onStored, this.signal)
    this.window = new ByteBudget(options.filesInFlight ?? FILES_IN_FLIGHT)
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

  /**
   * Tells the progress now, or (throttled) once the interval is over: the last figures are never held
   * back (a selection read whole in one interval, then stored for minutes, shows its bytes read).
   */
  private progress (force = false): void {
    const now = Date.now()
    if (!force && now - this.lastProgress < PROGRESS_INTERVAL_MS) {
      if (this.progressTimer == null && !this.ended) {
        this.progressTimer = setTimeout(() => { this.progressTimer = undefined; if (!this.ended) this.progress(true) }, PROGRESS_INTERVAL_MS - (now - this.lastProgress))
        this.progressTimer.unref()
      }
      return
    }
    clearTimeout(this.progressTimer)
    this.progressTimer = undefined
    this.lastProgress = now
    this.emit({ type: 'backup:progress', filesDone: this.filesDone, filesTotal: this.filesTotal, bytesDone: this.bytesDone, bytesTotal: this.bytesTotal, bytesStored: this.stats.bytesStored })
  }

  async run (paths: string[]): Promise<BackupResult> {
    const { repo } = this
    const absPaths = [...new Set(paths.map(p => resolve(p)))].sort()
    const missing = absPaths.filter(p => !existsSync(p) && !isDanglingLink(p))
    if (missing.length > 0) throw new SourceNotFoundError(`nothing to back up at ${missing.join(', ')}: no such file or directory`)
    const exclude = [repo.home, ...repo.homeConfig.stores.map(s => s.replace(/^dir:/, '')), ...(this.options.exclude ?? [])]
    const scanOptions: ScanOptions = { ...this.options.filter, signal: this.signal, exclude }
    const host = this.options.hostname ?? osHostname()
    const parent = await this.parentOf(host, absPaths)
    // the totals, for progress: the parent snapshot's, or (a first backup) a scan that keeps only counts
    const warned = new Set<string>()
    if (parent != null) {
      this.filesTotal = parent.snapshot.summary.totalFiles
      this.bytesTotal = parent.snapshot.summary.totalBytes
    } else {
      this.emit({ type: 'backup:phase', phase: 'scan' })
      const counted = await scan(absPaths, { ...scanOptions, retain: false, onProgress: (files, bytes) => this.emit({ type: 'scan:progress', files, bytes }) })
      for (const p of counted.problems) { this.warn(p.path, p.message); warned.add(p.path) }
      this.filesTotal = counted.files
      this.bytesTotal = counted.bytes
    }

    this.emit({ type: 'backup:phase', phase: 'read' })
    try {
      this.progress(true)
      const scanner = new Scanner(scanOptions)
      const { root, tops } = scanner.skeleton(absPaths)
      const walked = await this.walkDir(root, undefined, parent?.snapshot.tree, scanner, tops)
      const rootTree = await walked.tree
      // what the walk met that the counting scan had not (entries gone or unreadable since)
      for (const p of scanner.problems) if (!warned.has(p.path)) this.warn(p.path, p.message)
      this.stats.dirs = scanner.dirs
      return await this.commit(rootTree, absPaths, host, parent)
    } catch (err) {
      throw await this.abandon(err)
    }
  }


  /** The newest snapshot of the same paths from the same host: the parent (its trees, its totals). */
  private async parentOf (host: string, absPaths: string[]): Promise<{ name: string, snapshot: SnapshotRecord } | undefined> {
    return (await this.repo.register.snapshots()).filter(s => s.snapshot.hostname === host && samePaths(s.snapshot.paths, absPaths)).pop()
  }

  /** The session failed: stop everything in flight, wait for it, and give the first error (to throw). */
  private async abandon (err: unknown): Promise<unknown> {
    this.ended = true
    clearTimeout(this.progressTimer)
    const first = this.failure ?? err
    this.fail(err as Error)
    await Promise.allSettled([...this.sealing])
    await this.treePacker.settle()
    return first
  }

  /** Waits for the last packs, writes the trees and the index, then the snapshot record (only then is it visible). */
  private async commit (rootTree: string, absPaths: string[], host: string, parent: { name: string } | undefined): Promise<BackupResult> {
    const { repo } = this
    await this.drainSealing()
    this.emit({ type: 'backup:phase', phase: 'commit' })
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
    this.ended = true
    return { name, snapshot, warnings: this.warnings, deferred: this.deferred }
  }

  /** Backs up `source` as the snapshot's one file, /NAME (see BackupOptions.stream). */
  async runStream (source: StreamSource): Promise<BackupResult> {
    const { name } = source
    if (!isSafeName(name) || name.length > 255) throw new UsageError(`the stream's name must be one file name (no '/', not '.' or '..'), got ${JSON.stringify(name)}`)
    const absPaths = [`/${name}`]
    const host = this.options.hostname ?? osHostname()
    const parent = await this.parentOf(host, absPaths)
    this.filesTotal = 1
    this.bytesTotal = parent?.snapshot.summary.totalBytes ?? 0
    this.emit({ type: 'backup:phase', phase: 'read' })
    try {
      this.progress(true)
      const started = BigInt(Date.now()) * 1000000n
      const chunker = new Chunker(this.gear, this.repo.config.chunker)
      const content: string[] = []
      let size = 0
      for await (const block of source.input) {
        checkAbort(this.signal)
        if (this.failure != null) throw this.failure
        await this.options.pause?.(this.signal)
        // the chunker keeps pieces of what it is given: a block the source may reuse is copied
        const data = Buffer.from(block)
        size += data.length
        this.bytesDone += data.length
        if (this.bytesDone > this.bytesTotal) this.bytesTotal = this.bytesDone
        this.progress()
        for (const c of chunker.push(data)) content.push(await this.addChunk(c))
      }
      const last = chunker.finish()
      if (last != null) content.push(await this.addChunk(last))
      // a source that failed (a command's exit status) never becomes a snapshot
      await source.ended?.()
      this.filesDone = 1
      this.stats.filesNew = 1
      this.stats.bytesRead = size
      const node: TreeNode = { name, type: 'file', mode: 0o600, mtime: started.toString(), ctime: started.toString(), uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, inode: 0, size, content }
      const rootTree = await this.writeTree([node])
      return await this.commit(rootTree, absPaths, host, parent)
    } catch (err) {
      throw await this.abandon(err)
    }
  }

  /**
   * Walks one directory beside the parent snapshot's tree for it: unchanged files keep their chunk lists,
   * changed and new ones are queued for reading (waiting for room in the window), subdirectories are
   * walked in turn. Returns once everything below is walked, with the directory's tree id to come (written
   * when everything in it is done). The directory's scanned entries are not kept past this call.
   */
  private async walkDir (dir: ScanNode, filter: ScanFilter | undefined, parentTree: string | undefined, scanner: Scanner, tops: Map<ScanNode, ScanFilter | undefined>): Promise<{ tree: Promise<string> }> {
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
    // the virtual root and the selected paths' ancestors hold what the selection put in them; a
    // selected directory and everything below it is read from the disk
    const children = dir.children != null ? dir.children.map(node => ({ node, filter: tops.get(node) })) : await scanner.level(dir, filter)
    dir.children = undefined
    const parts: Array<Promise<TreeNode | undefined>> = []
    const add = (part: Promise<TreeNode | undefined>): void => {
      part.catch(() => {}) // seen by Promise.all below; not an unhandled rejection meanwhile
      parts.push(part)
    }
    for (const { node: child, filter: childFilter } of children) {
      const old = previous?.get(child.name)
      if (child.type === 'dir') {
        const sub = await this.walkDir(child, childFilter, old?.type === 'dir' ? old.subtree : undefined, scanner, tops)
        add(sub.tree.then(subtree => ({ ...baseNode(child), subtree })))
      } else if (child.type === 'file') {
        // unchanged: same size, mtime, ctime, inode and mode (a rewrite that puts the old mtime back, as
        // `touch -r` does, still moves ctime); a parent node without ctime (older trees) counts as changed
        if (old?.type === 'file' && old.size === child.size && old.mtime === child.mtime && old.ctime === child.ctime && old.inode === child.inode &&
            old.mode === child.mode && (old.content ?? []).every(id => this.repo.register.blobs.has(id))) {
          this.stats.filesUnchanged++
          this.filesDone++
          this.bytesDone += child.size
          add(Promise.resolve({ ...baseNode(child), content: old.content ?? [] }))
        } else if (this.options.minAgeMs != null && Number(BigInt(child.mtime) / 1000000n) > this.started - this.options.minAgeMs) {
          // changed too recently (it may still be being written): the previous version stays, if there is one
          this.deferred.push(child.path)
          const keep = old?.type === 'file' && (old.content ?? []).every(id => this.repo.register.blobs.has(id)) ? old : undefined
          this.filesDone++
          this.bytesDone += child.size
          add(Promise.resolve(keep))
        } else {
          await this.window.acquire(1, this.signal)
          add(this.queueRead(child, old != null)
            .then(st => st.failed === true ? undefined : { ...baseNode(child), content: st.content })
            .finally(() => this.window.release(1)))
        }
      } else {
        add(Promise.resolve({ ...baseNode(child), target: child.target }))
      }
    }
    return { tree: Promise.all(parts).then(async nodes => await this.writeTree(nodes.filter((n): n is TreeNode => n != null))) }
  }

  /** Queues a file for the readers: by priority rank, then most recently changed first. */
  private async queueRead (node: ScanNode, changed: boolean): Promise<FileState> {
    return await new Promise<FileState>((resolve, reject) => {
      this.reads.push({ rank: this.options.priority?.(node.path) ?? 0, mtime: BigInt(node.mtime), item: { node, changed, resolve, reject } })
      this.startReaders()
    })
  }

  private startReaders (): void {
    const limit = this.options.readConcurrency ?? 8
    while (this.readers < limit && this.reads.size > 0) {
      const next = this.reads.pop()!
      this.readers++
      void (async () => {
        try {
          if (this.failure != null) throw this.failure
          checkAbort(this.signal)
          await this.options.pause?.(this.signal)
          next.resolve(await this.readFile(next.node, next.changed))
        } catch (err) {
          next.reject(err)
        } finally {
          this.readers--
          this.startReaders()
        }
      })()
    }
  }

  private async readFile (node: ScanNode, changed: boolean): Promise<FileState> {
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
      this.filesDone++
      this.bytesDone += Math.max(0, node.size - size)
      return { failed: true }
    }
    const small = node.size <= this.repo.config.chunker.minSize
    node.size = size // what was read is what the snapshot describes
    if (changed) this.stats.filesChanged++; else this.stats.filesNew++
    this.stats.bytesRead += size
    this.filesDone++
    if (small) this.bytesDone += size // large files were counted as they were read
    this.progress()
    return { content }
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

  /** Writes the tree of a directory whose entries are done and returns its id. Trees already stored are reused. */
  private async writeTree (nodes: TreeNode[]): Promise<string> {
    checkAbort(this.signal)
    // the totals count what the snapshot holds: a deferred file's previous version, not the new one
    for (const n of nodes) {
      if (n.type !== 'file') continue
      this.held.files++
      this.held.bytes += n.size
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

/** A scanned entry's metadata as a tree keeps it (a file's size is what was read, once it is). */
function baseNode (n: ScanNode): TreeNode {
  return { name: n.name, type: n.type, mode: n.mode, mtime: n.mtime, ctime: n.ctime, uid: n.uid, gid: n.gid, inode: n.inode, size: n.size }
}

function isDanglingLink (p: string): boolean {
  try { return lstatSync(p).isSymbolicLink() } catch { return false }
}

function safeUsername (): string {
  try { return userInfo().username } catch { return '' }
}
