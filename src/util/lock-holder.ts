import { formatAge } from './duration.js'

/**
 * Who holds a lock, as its lock file records it: enough for a user to find the process (host, pid), to
 * know what it does and for how long, and for a later taker to tell a dead holder on this host from a live
 * one. The same record serves wherever the lock lives (the home today; the stores later).
 */
export interface LockHolder {
  pid: number
  /** what the holder does: a command's name (backup, prune, ...) */
  what: string
  /** when it took the lock (ISO 8601) */
  since: string
  /** absent in lock files written before it was recorded */
  hostname?: string
  home?: string
}

/** The holder in a lock file's text, or undefined when the text is not a lock record (empty, torn, foreign). */
export function parseLockHolder (text: string): LockHolder | undefined {
  let v: unknown
  try { v = JSON.parse(text) } catch { return undefined }
  if (v == null || typeof v !== 'object') return undefined
  const o = v as Record<string, unknown>
  if (!Number.isInteger(o.pid) || typeof o.what !== 'string' || typeof o.since !== 'string') return undefined
  const holder: LockHolder = { pid: o.pid as number, what: o.what, since: o.since }
  if (typeof o.hostname === 'string') holder.hostname = o.hostname
  if (typeof o.home === 'string') holder.home = o.home
  return holder
}

/** "backup, pid 1234 on host x, home /h, for 2m10s": what a LockedError tells the user. */
export function describeLockHolder (holder: LockHolder, now = Date.now()): string {
  const parts = [holder.what, `pid ${holder.pid}${holder.hostname != null ? ` on host ${holder.hostname}` : ''}`]
  if (holder.home != null) parts.push(`home ${holder.home}`)
  const since = Date.parse(holder.since)
  let text = parts.join(', ')
  if (Number.isFinite(since)) text += `, for ${formatAge(now - since)}`
  return text
}
