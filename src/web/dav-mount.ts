import { httpStatusOf, type WebMount } from './api-routes.js'
import { davHref, davSegments, escapeXml, multistatus, contentTypeOf, type DavResource } from './dav-xml.js'
import { parseRange } from './http-range.js'
import type { SnapshotView } from './snapshot-routes.js'

export const DAV_PREFIX = '/dav'
const ALLOW = 'OPTIONS, GET, HEAD, PROPFIND'
/** Entries listed at most per folder in a PROPFIND (the REST API pages larger ones). */
const MAX_LISTED = 10_000

/**
 * The snapshots as a read-only WebDAV share (class 1) at /dav/: /dav/<time_shortid>/<original absolute
 * path>. PROPFIND with Depth 0 or 1, GET and HEAD (with one byte range), OPTIONS; anything else answers
 * 405. Files stream from the shards as downloads do; symlinks are not shown. Authentication is the web
 * app's (this handler is a plain Request -> Response).
 */
export function davMount (view: SnapshotView): WebMount {
  return { prefix: DAV_PREFIX, safeMethods: ['GET', 'HEAD', 'OPTIONS', 'PROPFIND'], handler: async req => await davHandler(view, req) }
}

export async function davHandler (view: SnapshotView, req: Request): Promise<Response> {
  const method = req.method.toUpperCase()
  if (method === 'OPTIONS') return new Response(null, { status: 200, headers: { dav: '1', allow: ALLOW, 'ms-author-via': 'DAV', 'content-length': '0' } })
  if (method !== 'GET' && method !== 'HEAD' && method !== 'PROPFIND') return text(405, 'this WebDAV view of the snapshots is read-only', { allow: ALLOW })
  const segments = davSegments(DAV_PREFIX, new URL(req.url).pathname)
  if (segments == null) return text(400, 'not a valid path')
  try {
    return method === 'PROPFIND' ? await propfind(view, req, segments) : await get(view, req, segments, method === 'HEAD')
  } catch (err) {
    const status = httpStatusOf(err)
    return text(status === 500 ? 500 : status, `${(err as Error).name}: ${(err as Error).message}`)
  }
}

async function snapshotOf (view: SnapshotView, folder: string, signal: AbortSignal): Promise<{ id: string, time: string } | undefined> {
  return (await view.snapshots(signal)).find(s => s.folder === folder)
}

async function propfind (view: SnapshotView, req: Request, segments: string[]): Promise<Response> {
  const depth = req.headers.get('depth') ?? '1'
  if (depth !== '0' && depth !== '1') return xmlAnswer(403, '<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>\n')
  const signal = req.signal
  const out: DavResource[] = []
  if (segments.length === 0) {
    const snaps = await view.snapshots(signal)
    out.push({ href: `${DAV_PREFIX}/`, name: 'snapshots', collection: true, size: 0, mtime: snaps[0]?.time ?? new Date(0).toISOString() })
    if (depth === '1') for (const s of snaps) out.push({ href: davHref(DAV_PREFIX, [s.folder], true), name: s.folder, collection: true, size: 0, mtime: s.time })
    return xmlAnswer(207, multistatus(out))
  }
  const snap = await snapshotOf(view, segments[0], signal)
  if (snap == null) return text(404, 'no such snapshot')
  const path = `/${segments.slice(1).join('/')}`
  const entry = await view.entry(snap.id, path, signal)
  if (entry.type === 'symlink') return text(404, 'a symlink (not shown here)')
  const dir = entry.type === 'dir'
  out.push({ href: davHref(DAV_PREFIX, segments, dir), name: segments.length === 1 ? segments[0] : entry.name, collection: dir, size: entry.size, mtime: segments.length === 1 ? snap.time : entry.mtime })
  if (dir && depth === '1') {
    const listing = await view.tree(snap.id, path, { offset: 0, limit: MAX_LISTED }, signal)
    for (const e of listing.entries) {
      if (e.type === 'symlink') continue
      out.push({ href: davHref(DAV_PREFIX, [...segments, e.name], e.type === 'dir'), name: e.name, collection: e.type === 'dir', size: e.size, mtime: e.mtime })
    }
  }
  return xmlAnswer(207, multistatus(out))
}

async function get (view: SnapshotView, req: Request, segments: string[], head: boolean): Promise<Response> {
  const signal = req.signal
  if (segments.length === 0) {
    const snaps = await view.snapshots(signal)
    return html(head, 'Snapshots', snaps.map(s => ({ href: davHref(DAV_PREFIX, [s.folder], true), name: `${s.folder}/` })))
  }
  const snap = await snapshotOf(view, segments[0], signal)
  if (snap == null) return text(404, 'no such snapshot')
  const path = `/${segments.slice(1).join('/')}`
  const file = await view.file(snap.id, path, signal)
  const entry = file.entry
  if (entry.type === 'symlink') return text(404, 'a symlink (not shown here)')
  if (entry.type === 'dir') {
    const listing = await view.tree(snap.id, path, { offset: 0, limit: MAX_LISTED }, signal)
    return html(head, path, listing.entries.filter(e => e.type !== 'symlink').map(e => ({ href: davHref(DAV_PREFIX, [...segments, e.name], e.type === 'dir'), name: e.type === 'dir' ? `${e.name}/` : e.name })))
  }
  const common: Record<string, string> = {
    'accept-ranges': 'bytes',
    etag: file.etag,
    'last-modified': new Date(entry.mtime).toUTCString(),
    'content-type': contentTypeOf(entry.name)
  }
  const ifRange = req.headers.get('if-range')
  const range = ifRange == null || ifRange === file.etag ? parseRange(req.headers.get('range'), entry.size) : null
  if (range === 'unsatisfiable') return new Response(null, { status: 416, headers: { ...common, 'content-range': `bytes */${entry.size}` } })
  const { start, end } = range ?? { start: 0, end: entry.size }
  const headers = { ...common, 'content-length': String(end - start), ...(range != null ? { 'content-range': `bytes ${start}-${end - 1}/${entry.size}` } : {}) }
  return new Response(head ? null : file.read({ start, end }, signal), { status: range != null ? 206 : 200, headers })
}

function text (status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(`${message}\n`, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } })
}

function xmlAnswer (status: number, body: string): Response {
  return new Response(body, { status, headers: { 'content-type': 'application/xml; charset=utf-8', dav: '1' } })
}

function html (head: boolean, title: string, links: Array<{ href: string, name: string }>): Response {
  const body = `<!doctype html>\n<meta charset="utf-8"><title>${escapeXml(title)}</title>\n<h1>${escapeXml(title)}</h1>\n<ul>\n${links.map(l => `<li><a href="${escapeXml(l.href)}">${escapeXml(l.name)}</a></li>`).join('\n')}\n</ul>\n`
  return new Response(head ? null : body, { status: 200, headers: { 'content-type': 'text/html; charset=utf-8' } })
}
