import { countChange, diffTrees, emptyDiffSummary, repositoryStats } from '../query/index.js'
import type { DiffResult, StatsResult } from '../web/snapshot-schemas.js'
import { createHash } from 'node:crypto'
import { posix } from 'node:path'
import type { Repository } from '../repository/repository.js'
import type { SnapshotRecord, Tree, TreeNode } from '../format/format.js'
import { UsageError } from '../errors.js'
import { entryOf, fileBytes, fileVersions, nameMatcher, nodeAt, searchSnapshots, snapshotPath, streamOf, zipFolder, type SnapshotEntry } from '../browse/index.js'
import type { SnapshotFile, SnapshotView } from '../web/snapshot-routes.js'
import type { DirListing, FileVersion, RestoreBody, RestoreProgress, SearchResult, SnapshotInfo } from '../web/snapshot-schemas.js'
import { snapshotFolder } from '../web/dav-xml.js'
import type { RestoreJobs } from './restore-jobs.js'

/** How long an open repository is kept once nothing uses it (opening one costs a key unlock and the register). */
const IDLE_MS = 60_000
const SETS_CACHE_MS = 10_000

export interface SnapshotBrowserInit {
  /** Opens the repository (RepositoryAccess.open: PassphraseNeededError when the daemon has none). */
  open: (signal?: AbortSignal) => Promise<Repository>
  /** Throws PassphraseNeededError when the daemon holds no passphrase now (checked on every use). */
  check: () => Promise<void>
  /** Which backup set saved each snapshot, from the session log. */
  setOf: () => Promise<Map<string, string>>
  restores: RestoreJobs
  idleMs?: number
}

interface Cached { repo: Promise<Repository>, users: number, timer?: ReturnType<typeof setTimeout> }

/**
 * The dashboard's and the WebDAV view's reading of snapshots (SnapshotView), over one open repository
 * kept while in use and IDLE_MS after, closed on `close` (daemon stop). Every use checks that the
 * daemon still holds the passphrase: a dashboard lock stops browsing at once.
 */
export class SnapshotBrowser implements SnapshotView {
  private cached?: Cached
  private readonly idleMs: number
  /** The session log read for the sets at most every SETS_CACHE_MS (a WebDAV client asks many times a second). */
  private sets?: { at: number, value: Promise<Map<string, string>> }

  constructor (private readonly init: SnapshotBrowserInit) {
    this.idleMs = init.idleMs ?? IDLE_MS
  }

  async snapshots (signal?: AbortSignal): Promise<SnapshotInfo[]> {
    return await this.use(signal, async repo => {
      if (this.sets == null || Date.now() - this.sets.at > SETS_CACHE_MS) this.sets = { at: Date.now(), value: this.init.setOf().catch(() => new Map<string, string>()) }
      const sets = await this.sets.value
      return (await repo.register.snapshots()).reverse().map(({ name, snapshot: s }) => ({
        id: name,
        short: name.slice(0, 8),
        folder: snapshotFolder(s.time, name),
        time: s.time,
        host: s.hostname,
        username: s.username,
        paths: s.paths,
        tags: s.tags ?? [],
        set: sets.get(name) ?? null,
        partial: s.partial,
        archived: s.archived === true,
        summary: { files: s.summary.totalFiles, bytes: s.summary.totalBytes, filesNew: s.summary.filesNew, filesChanged: s.summary.filesChanged, bytesAdded: s.summary.bytesAdded, durationMs: Math.round(s.summary.durationMs) }
      }))
    })
  }

  async tree (ref: string, path: string, page: { offset: number, limit: number }, signal?: AbortSignal): Promise<DirListing> {
    return await this.use(signal, async repo => {
      const { name, snapshot } = await repo.findSnapshot(ref)
      const at = snapshotPath(path)
      const { tree } = await nodeAt(repo, snapshot.tree, at, { signal })
      if (tree == null) throw new UsageError(`${at} is not a folder in the snapshot`)
      const nodes = tree.nodes.filter(n => isShown(n))
      return { snapshot: name, path: at, entries: nodes.slice(page.offset, page.offset + page.limit).map(entryOf), offset: page.offset, total: nodes.length, truncated: page.offset + page.limit < nodes.length }
    })
  }

  /** What changed from snapshot `from` to `to` (holdfast diff): the summary of all, the first `limit` changes. */
  async diff (to: string, from: string, limit: number, signal?: AbortSignal): Promise<DiffResult> {
    return await this.use(signal, async repo => {
      const b = await repo.findSnapshot(to)
      const a = await repo.findSnapshot(from)
      const summary = emptyDiffSummary()
      const entries: DiffResult['entries'] = []
      let truncated = false
      for await (const e of diffTrees(repo, a.snapshot.tree, b.snapshot.tree, '', { signal })) {
        countChange(summary, e)
        if (entries.length < limit) entries.push({ path: e.path, change: e.change, type: e.type, ...(e.size != null ? { size: e.size } : {}) })
        else truncated = true
      }
      return { from: a.name, to: b.name, summary, entries, truncated }
    })
  }

  /** Per snapshot and for the repository: files, logical, unique and stored bytes, dedup (holdfast stats). */
  async stats (signal?: AbortSignal): Promise<StatsResult> {
    return await this.use(signal, async repo => await repositoryStats(repo, await repo.register.snapshots(), { signal }) as unknown as StatsResult)
  }

  async entry (ref: string, path: string, signal?: AbortSignal): Promise<SnapshotEntry> {
    return (await this.file(ref, path, signal)).entry
  }

  async search (query: { q: string, limit: number, snapshot?: string }, signal?: AbortSignal): Promise<SearchResult> {
    return await this.use(signal, async repo => {
      const snaps = query.snapshot != null ? [await repo.findSnapshot(query.snapshot)] : (await repo.register.snapshots()).reverse()
      return await searchSnapshots(repo, snaps, nameMatcher(query.q), { limit: query.limit, signal })
    })
  }

  async versions (path: string, limit: number, signal?: AbortSignal): Promise<FileVersion[]> {
    return await this.use(signal, async repo => await fileVersions(repo, (await repo.register.snapshots()).reverse().slice(0, limit), snapshotPath(path), { signal }))
  }

  async file (ref: string, path: string, signal?: AbortSignal): Promise<SnapshotFile> {
    return await this.use(signal, async repo => {
      const { name, snapshot } = await repo.findSnapshot(ref)
      const { node } = await nodeAt(repo, snapshot.tree, snapshotPath(path), { signal })
      const entry = node == null ? rootEntry(snapshot) : entryOf(node)
      const etag = node?.type === 'file' ? `"${createHash('sha256').update((node.content ?? []).join(',')).digest('hex').slice(0, 32)}"` : `"${name.slice(0, 32)}"`
      return {
        entry,
        snapshotTime: snapshot.time,
        etag,
        read: (range, sig) => {
          if (node?.type !== 'file') throw new UsageError(`${path} is not a file`)
          return streamOf(this.leased(sig, r => fileBytes(r, node, { ...range, signal: sig })))
        }
      }
    })
  }

  async archive (ref: string, path: string, signal?: AbortSignal): Promise<{ name: string, stream: ReadableStream<Uint8Array> }> {
    return await this.use(signal, async repo => {
      const { name, snapshot } = await repo.findSnapshot(ref)
      const at = snapshotPath(path)
      const { tree } = await nodeAt(repo, snapshot.tree, at, { signal })
      if (tree == null) throw new UsageError(`${at} is not a folder in the snapshot`)
      const root = at === '/' ? `snapshot-${name.slice(0, 8)}` : posix.basename(at)
      const t: Tree = tree
      return { name: `${root}.zip`, stream: streamOf(this.leased(signal, r => zipFolder(r, t, root, { signal }))) }
    })
  }

  async startRestore (body: RestoreBody): Promise<{ id: string }> {
    await this.init.check()
    return await this.init.restores.start(body)
  }

  restore (id: string): RestoreProgress {
    return this.init.restores.get(id)
  }

  /** Closes the repository kept open (daemon stop; streams still reading it fail). */
  async close (): Promise<void> {
    const c = this.cached
    this.cached = undefined
    if (c == null) return
    clearTimeout(c.timer)
    await (await c.repo.catch(() => undefined))?.close()
  }

  private async use<T> (signal: AbortSignal | undefined, fn: (repo: Repository) => Promise<T>): Promise<T> {
    const { repo, release } = await this.lease(signal)
    try { return await fn(repo) } finally { release() }
  }

  /** A generator that holds the repository while it runs (a download: until its last byte or its cancel). */
  private async * leased (signal: AbortSignal | undefined, make: (repo: Repository) => AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
    const { repo, release } = await this.lease(signal)
    try { yield * make(repo) } finally { release() }
  }

  private async lease (_signal?: AbortSignal): Promise<{ repo: Repository, release: () => void }> {
    try {
      await this.init.check()
    } catch (err) {
      if (this.cached?.users === 0) await this.close() // locked: the keys go with the repository
      throw err
    }
    // opened without the caller's signal: the repository outlives the request that opened it
    const c = this.cached ??= { repo: this.init.open(), users: 0 }
    c.users++
    clearTimeout(c.timer)
    let repo: Repository
    try {
      repo = await c.repo
    } catch (err) {
      c.users--
      if (this.cached === c) this.cached = undefined
      throw err
    }
    let released = false
    return {
      repo,
      release: () => {
        if (released) return
        released = true
        if (--c.users > 0 || this.cached !== c) return
        c.timer = setTimeout(() => { if (this.cached === c && c.users === 0) void this.close() }, this.idleMs)
        c.timer.unref()
      }
    }
  }
}

function isShown (node: TreeNode): boolean {
  return node.name !== '' && node.name !== '.' && node.name !== '..' && !node.name.includes('/') && !node.name.includes('\0')
}

function rootEntry (snapshot: SnapshotRecord): SnapshotEntry {
  return { name: '/', type: 'dir', size: 0, mtime: new Date(snapshot.time).toISOString(), mode: 0o755 }
}
