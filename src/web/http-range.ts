/**
 * HTTP byte ranges (RFC 9110, 14): one range of a `bytes=` Range header, for downloads and WebDAV. Pure.
 * Several ranges in one header are answered whole (the header is ignored), as the RFC allows.
 */
export type RangeAnswer = { start: number, end: number } | 'unsatisfiable' | null

/** The range asked for (end exclusive), 'unsatisfiable' (416), or null for the whole content. */
export function parseRange (header: string | null | undefined, size: number): RangeAnswer {
  if (header == null || header === '') return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m == null || (m[1] === '' && m[2] === '')) return null
  if (m[1] === '') {
    // the last N bytes
    const n = Number(m[2])
    if (n === 0) return 'unsatisfiable'
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size }
  }
  const start = Number(m[1])
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  if (start >= size || last < start) return 'unsatisfiable'
  return { start, end: last + 1 }
}

/** A Content-Disposition that every browser reads: an ASCII fallback and the UTF-8 name (RFC 6266). */
export function contentDisposition (name: string, kind: 'attachment' | 'inline' = 'attachment'): string {
  const safe = name.replace(/[\0-\x1f\x7f/\\]/g, '_').slice(0, 200) || 'download'
  const ascii = safe.replace(/[^\x20-\x7e]/g, '_').replace(/["%;]/g, '_')
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(safe)}`
}

function encodeRfc5987 (s: string): string {
  return encodeURIComponent(s).replace(/['()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
}
