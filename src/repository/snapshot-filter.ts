import { posix } from 'node:path'
import type { SnapshotRecord } from '../format/format.js'

/** What `latest` must match (restic's --path, --host and --tag). */
export interface SnapshotFilter {
  /** an absolute path the snapshot must hold: at or below one of its backed-up paths, or above one */
  path?: string
  /** the machine that made it */
  host?: string
  /** tags it must carry, every one */
  tags?: string[]
}

const within = (p: string, dir: string): boolean => p === dir || p.startsWith(dir === '/' ? '/' : `${dir}/`)

/** Whether the snapshot matches every part of the filter (an empty filter matches every snapshot). */
export function matchesFilter (snapshot: SnapshotRecord, filter: SnapshotFilter): boolean {
  if (filter.host != null && snapshot.hostname !== filter.host) return false
  if (filter.tags != null && filter.tags.some(t => !(snapshot.tags ?? []).includes(t))) return false
  if (filter.path != null) {
    const p = posix.resolve('/', filter.path)
    if (!snapshot.paths.some(s => within(p, s) || within(s, p))) return false
  }
  return true
}

/** Whether two sorted path lists are the same (a snapshot's paths against a selection's). */
export function samePaths (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** The filter in words, for an error that says why nothing matched. */
export function describeFilter (filter: SnapshotFilter): string {
  const parts: string[] = []
  if (filter.path != null) parts.push(`path ${posix.resolve('/', filter.path)}`)
  if (filter.host != null) parts.push(`host ${filter.host}`)
  for (const t of filter.tags ?? []) parts.push(`tag ${t}`)
  return parts.join(', ')
}
