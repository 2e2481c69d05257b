/**
 * The WebDAV view's names and answers, pure: a snapshot's folder name, hrefs percent-encoded segment by
 * segment, the PROPFIND multistatus XML (RFC 4918) and a content type guessed from a file's name.
 */

/** A snapshot's folder in the WebDAV view: its UTC time and short id, `2026-12-05T14-03-11_ab12cd34`. */
export function snapshotFolder (time: string, id: string): string {
  return `${new Date(time).toISOString().slice(0, 19).replace(/:/g, '-')}_${id.slice(0, 8)}`
}

/** An href below `prefix` from decoded segments; a collection's ends with '/'. */
export function davHref (prefix: string, segments: string[], collection: boolean): string {
  const path = segments.map(s => encodeURIComponent(s)).join('/')
  return `${prefix}/${path}${collection && path !== '' ? '/' : ''}`
}

/** The decoded segments of a request path below `prefix` (null when a segment is not valid percent-encoding or is . or ..). */
export function davSegments (prefix: string, pathname: string): string[] | null {
  if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return null
  const out: string[] = []
  for (const raw of pathname.slice(prefix.length).split('/')) {
    if (raw === '') continue
    let s: string
    try { s = decodeURIComponent(raw) } catch { return null }
    if (s === '.' || s === '..' || s.includes('/') || s.includes('\0')) return null
    out.push(s)
  }
  return out
}

export interface DavResource {
  href: string
  name: string
  collection: boolean
  size: number
  /** ISO time */
  mtime: string
  contentType?: string
}

export function escapeXml (s: string): string {
  return s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
}

/** A 207 Multi-Status body listing `resources` with the properties every client asks for. */
export function multistatus (resources: DavResource[]): string {
  const parts = resources.map(r => [
    '<D:response>',
    `<D:href>${escapeXml(r.href)}</D:href>`,
    '<D:propstat><D:prop>',
    `<D:displayname>${escapeXml(r.name)}</D:displayname>`,
    r.collection ? '<D:resourcetype><D:collection/></D:resourcetype>' : '<D:resourcetype/>',
    r.collection ? '' : `<D:getcontentlength>${r.size}</D:getcontentlength><D:getcontenttype>${escapeXml(r.contentType ?? contentTypeOf(r.name))}</D:getcontenttype>`,
    `<D:getlastmodified>${new Date(r.mtime).toUTCString()}</D:getlastmodified>`,
    '</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>',
    '</D:response>'
  ].join(''))
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:">${parts.join('\n')}</D:multistatus>\n`
}

const TYPES: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', csv: 'text/csv', html: 'text/html', htm: 'text/html', css: 'text/css', js: 'text/javascript',
  json: 'application/json', xml: 'application/xml', pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', svg: 'image/svg+xml', heic: 'image/heic',
  mp3: 'audio/mpeg', ogg: 'audio/ogg', flac: 'audio/flac', wav: 'audio/wav', mp4: 'video/mp4', mkv: 'video/x-matroska', webm: 'video/webm', mov: 'video/quicktime',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
}

/** A content type from a file name's extension (application/octet-stream when unknown). */
export function contentTypeOf (name: string): string {
  const dot = name.lastIndexOf('.')
  return (dot > 0 ? TYPES[name.slice(dot + 1).toLowerCase()] : undefined) ?? 'application/octet-stream'
}
