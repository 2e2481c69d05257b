import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * Compares some entries (files and symlinks) of two trees with synchronous calls, as compareTrees does:
 * type, mode, mtime to the millisecond, symlink target, size and bytes. Answers the differences in words.
 */
export interface CompareJob { a: string, b: string, rels: string[], mtimes: boolean }

const { a, b, rels, mtimes } = workerData as CompareJob
const diffs: string[] = []
const type = (s: Stats): string => s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other'
for (const rel of rels) {
  const pa = join(a, rel)
  const pb = join(b, rel)
  let sa: Stats, sb: Stats
  try { sa = lstatSync(pa) } catch { diffs.push(`${rel}: missing in source`); continue }
  try { sb = lstatSync(pb) } catch { diffs.push(`${rel}: missing in restore`); continue }
  if (type(sa) !== type(sb)) { diffs.push(`${rel}: ${type(sa)} became ${type(sb)}`); continue }
  if ((sa.mode & 0o7777) !== (sb.mode & 0o7777) && !sa.isSymbolicLink()) diffs.push(`${rel}: mode ${(sa.mode & 0o7777).toString(8)} became ${(sb.mode & 0o7777).toString(8)}`)
  if (mtimes && Math.floor(sa.mtimeMs) !== Math.floor(sb.mtimeMs)) diffs.push(`${rel}: mtime ${sa.mtime.toISOString()} became ${sb.mtime.toISOString()}`)
  if (sa.isSymbolicLink()) {
    if (readlinkSync(pa) !== readlinkSync(pb)) diffs.push(`${rel}: symlink target differs`)
  } else if (sa.isFile()) {
    if (sa.size !== sb.size) diffs.push(`${rel}: size ${sa.size} became ${sb.size}`)
    else if (!readFileSync(pa).equals(readFileSync(pb))) diffs.push(`${rel}: content differs`)
  }
}
parentPort!.postMessage(diffs)
