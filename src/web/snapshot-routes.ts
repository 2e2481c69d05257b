import { UsageError } from '../errors.js'
import { intParam, textParam, type ApiRoute } from './api-routes.js'
import { contentDisposition } from './http-range.js'
import type { DiffResult, DirListing, FileVersion, RestoreBody, RestoreProgress, SearchResult, SnapshotEntry, SnapshotInfo, StatsResult } from './snapshot-schemas.js'

/** A file of a snapshot, ready to be read (nothing is fetched until `read`). */
export interface SnapshotFile {
  entry: SnapshotEntry
  /** The snapshot's time: a file of a snapshot never changes. */
  snapshotTime: string
  /** Strong: the file's chunk ids name its content. */
  etag: string
  /** Bytes start..end (exclusive), fetched from any k of n shards and verified as they are read. */
  read: (range: { start: number, end: number }, signal?: AbortSignal) => ReadableStream<Uint8Array>
}

/** What the snapshot browser (and the WebDAV view) read from and ask of the daemon (daemon/snapshot-browser.ts). */
export interface SnapshotView {
  /** Newest first. */
  snapshots: (signal?: AbortSignal) => Promise<SnapshotInfo[]>
  /** One directory's entries, a page of them. */
  tree: (snapshot: string, path: string, page: { offset: number, limit: number }, signal?: AbortSignal) => Promise<DirListing>
  /** What is at `path` (a directory, file or symlink; '/' is the snapshot's root directory). */
  entry: (snapshot: string, path: string, signal?: AbortSignal) => Promise<SnapshotEntry>
  search: (query: { q: string, limit: number, snapshot?: string }, signal?: AbortSignal) => Promise<SearchResult>
  diff: (to: string, from: string, limit: number, signal?: AbortSignal) => Promise<DiffResult>
  stats: (signal?: AbortSignal) => Promise<StatsResult>
  versions: (path: string, limit: number, signal?: AbortSignal) => Promise<FileVersion[]>
  file: (snapshot: string, path: string, signal?: AbortSignal) => Promise<SnapshotFile>
  /** A folder as a zip, streamed; `name` is the zip's file name. */
  archive: (snapshot: string, path: string, signal?: AbortSignal) => Promise<{ name: string, stream: ReadableStream<Uint8Array> }>
  startRestore: (body: RestoreBody) => Promise<{ id: string }>
  restore: (id: string) => RestoreProgress
}

const POLICIES = ['always', 'if-changed', 'if-newer', 'never']

/** A snapshot id as the routes take it: its full id or a prefix of at least 4 hex digits. */
export function snapshotRef (id: string | undefined): string {
  if (id == null || !/^[0-9a-f]{4,64}$/.test(id)) throw new UsageError(`a snapshot is named by its id or a prefix of 4 hex digits or more, got ${JSON.stringify((id ?? '').slice(0, 70))}`)
  return id
}

function pathParam (raw: Record<string, string>, required: boolean): string | undefined {
  const path = textParam(raw, 'path', 4096)
  if (path == null) { if (required) throw new UsageError('query path is needed (an absolute path of the snapshot)'); return undefined }
  if (!path.startsWith('/')) throw new UsageError('query path must be absolute')
  return path
}

/** A restore's body, checked (UsageError). */
export function restoreBody (body: unknown): RestoreBody {
  const b = (body ?? {}) as Record<string, unknown>
  if (typeof b.snapshot !== 'string') throw new UsageError('which snapshot? (snapshot: its id)')
  snapshotRef(b.snapshot)
  if (!Array.isArray(b.paths) || b.paths.length === 0 || b.paths.length > 100 || !b.paths.every(p => typeof p === 'string' && p.startsWith('/') && p.length <= 4096 && !p.includes('\0'))) throw new UsageError('paths must be 1 to 100 absolute paths of the snapshot')
  if (typeof b.target !== 'string' || (b.target !== 'original' && (!b.target.startsWith('/') || b.target.includes('\0') || b.target.length > 4096))) throw new UsageError('target must be "original" or an absolute folder')
  if (b.overwrite != null && !POLICIES.includes(b.overwrite as string)) throw new UsageError(`overwrite must be one of ${POLICIES.join(', ')}`)
  if (b.verify != null && typeof b.verify !== 'boolean') throw new UsageError('verify must be true or false')
  return { snapshot: b.snapshot, paths: b.paths as string[], target: b.target, ...(b.overwrite != null ? { overwrite: b.overwrite as RestoreBody['overwrite'] } : {}), ...(b.verify != null ? { verify: b.verify as boolean } : {}) }
}

/**
 * The Restore page's routes: snapshots, a directory's entries, search, a file's versions, downloads (a
 * file; a folder as a zip), restores and their progress. All read-only but POST /restores.
 */
export function snapshotRoutes (view: SnapshotView): ApiRoute[] {
  return [
    { method: 'get', path: '/snapshots', handler: async ({ signal }) => await view.snapshots(signal) },
    {
      method: 'get',
      path: '/snapshots/{id}/diff',
      query: raw => ({ with: snapshotRef(textParam(raw, 'with', 64)), limit: intParam(raw, 'limit', 1, 10000) ?? 1000 }),
      handler: async ({ params, query, signal }) => {
        const q = query as { with: string, limit: number }
        return await view.diff(snapshotRef(params.id), q.with, q.limit, signal)
      }
    },
    { method: 'get', path: '/stats', handler: async ({ signal }) => await view.stats(signal) },
    {
      method: 'get',
      path: '/snapshots/{id}/tree',
      query: raw => ({ path: pathParam(raw, false) ?? '/', offset: intParam(raw, 'offset', 0, 1e9) ?? 0, limit: intParam(raw, 'limit', 1, 10000) ?? 1000 }),
      handler: async ({ params, query, signal }) => {
        const q = query as { path: string, offset: number, limit: number }
        return await view.tree(snapshotRef(params.id), q.path, { offset: q.offset, limit: q.limit }, signal)
      }
    },
    {
      method: 'get',
      path: '/search',
      query: raw => {
        const q = textParam(raw, 'q', 200)
        if (q == null) throw new UsageError('query q is needed (a part of a name, or a glob)')
        const snapshot = textParam(raw, 'snapshot', 64)
        return { q, limit: intParam(raw, 'limit', 1, 1000) ?? 100, ...(snapshot != null ? { snapshot: snapshotRef(snapshot) } : {}) }
      },
      handler: async ({ query, signal }) => await view.search(query as { q: string, limit: number, snapshot?: string }, signal)
    },
    {
      method: 'get',
      path: '/versions',
      query: raw => ({ path: pathParam(raw, true), limit: intParam(raw, 'limit', 1, 1000) ?? 200 }),
      handler: async ({ query, signal }) => await view.versions(query.path as string, query.limit as number, signal)
    },
    {
      method: 'get',
      path: '/snapshots/{id}/file',
      query: raw => ({ path: pathParam(raw, true) }),
      handler: async ({ params, query, signal }) => {
        const file = await view.file(snapshotRef(params.id), query.path as string, signal)
        if (file.entry.type !== 'file') throw new UsageError(`${String(query.path)} is a ${file.entry.type === 'dir' ? 'folder (download it as a zip: /archive)' : 'symlink'}, not a file`)
        return new Response(file.read({ start: 0, end: file.entry.size }, signal), {
          status: 200,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(file.entry.size),
            'content-disposition': contentDisposition(file.entry.name),
            'last-modified': new Date(file.entry.mtime).toUTCString(),
            etag: file.etag
          }
        })
      }
    },
    {
      method: 'get',
      path: '/snapshots/{id}/archive',
      query: raw => ({ path: pathParam(raw, false) ?? '/' }),
      handler: async ({ params, query, signal }) => {
        const zip = await view.archive(snapshotRef(params.id), query.path as string, signal)
        return new Response(zip.stream, { status: 200, headers: { 'content-type': 'application/zip', 'content-disposition': contentDisposition(zip.name) } })
      }
    },
    { method: 'post', path: '/restores', handler: async ({ body }) => await view.startRestore(restoreBody(body)) },
    {
      method: 'get',
      path: '/restores/{id}',
      handler: async ({ params }) => view.restore(restoreId(params.id))
    },
    {
      method: 'get',
      path: '/restores/{id}/events',
      handler: async ({ params, signal }) => {
        const id = restoreId(params.id)
        view.restore(id) // NotFoundError before the stream starts
        return new Response(progressEvents(() => view.restore(id), signal), { status: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store' } })
      }
    }
  ]
}

function restoreId (id: string | undefined): string {
  if (id == null || !/^[0-9a-f]{16}$/.test(id)) throw new UsageError('a restore id is 16 hex digits')
  return id
}

/** How often a restore's progress is sent as an event while it runs. */
const EVENT_INTERVAL_MS = 500

/** Server-sent events: `progress` with the restore's progress every EVENT_INTERVAL_MS, then `end` with the last. */
function progressEvents (read: () => RestoreProgress, signal: AbortSignal): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let timer: ReturnType<typeof setTimeout> | undefined
  return new ReadableStream<Uint8Array>({
    start (controller) {
      const send = (): void => {
        if (signal.aborted) { try { controller.close() } catch {} return }
        let p: RestoreProgress
        try { p = read() } catch (err) { controller.error(err); return }
        // the report is written just after the restore ends: `end` waits for it
        const over = p.state !== 'running' && p.session != null
        controller.enqueue(encoder.encode(`event: ${over ? 'end' : 'progress'}\ndata: ${JSON.stringify(p)}\n\n`))
        if (over) controller.close()
        else timer = setTimeout(send, EVENT_INTERVAL_MS)
      }
      send()
    },
    cancel () { clearTimeout(timer) }
  })
}
