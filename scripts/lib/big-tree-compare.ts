import { lstatSync, readdirSync, type Stats } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import type { CompareJob } from './big-tree-compare-worker.js'

/**
 * compareTrees (tree-compare.ts) for trees of a million files: the same checks (type, mode, mtime to the
 * millisecond, symlink targets, size, every byte, entries missing or extra), with synchronous calls, the
 * directories walked on this thread and the files compared on `threads` worker threads (contiguous shares,
 * so each thread reads whole directories). Returns the differences in words; an empty list means identical.
 * compareTrees takes about 60 s for 200,000 small files; this about a tenth of that.
 */
export async function compareBigTrees (a: string, b: string, options: { mtimes?: boolean, threads?: number } = {}): Promise<string[]> {
  const diffs: string[] = []
  const leaves: string[] = []
  const type = (s: Stats): string => s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other'
  const mtimes = options.mtimes !== false
  const walk = (rel: string): void => {
    const pa = join(a, rel)
    const pb = join(b, rel)
    let sa: Stats, sb: Stats
    try { sa = lstatSync(pa) } catch { diffs.push(`${rel}: missing in source`); return }
    try { sb = lstatSync(pb) } catch { diffs.push(`${rel}: missing in restore`); return }
    if (!sa.isDirectory() || !sb.isDirectory()) { leaves.push(rel); return }
    if ((sa.mode & 0o7777) !== (sb.mode & 0o7777)) diffs.push(`${rel}: mode ${(sa.mode & 0o7777).toString(8)} became ${(sb.mode & 0o7777).toString(8)}`)
    if (mtimes && Math.floor(sa.mtimeMs) !== Math.floor(sb.mtimeMs)) diffs.push(`${rel}: mtime ${sa.mtime.toISOString()} became ${sb.mtime.toISOString()}`)
    if (type(sb) !== 'dir') { diffs.push(`${rel}: dir became ${type(sb)}`); return }
    const na = readdirSync(pa, { withFileTypes: true })
    const inA = new Set(na.map(e => e.name))
    for (const n of readdirSync(pb)) if (!inA.has(n)) diffs.push(`${join(rel, n)}: extra in restore`)
    for (const e of na.sort((x, y) => x.name < y.name ? -1 : x.name > y.name ? 1 : 0)) {
      if (e.isDirectory()) walk(join(rel, e.name)); else leaves.push(join(rel, e.name))
    }
  }
  walk('')
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), leaves.length))
  const per = Math.ceil(leaves.length / threads)
  const results = await Promise.all(Array.from({ length: threads }, async (_, t) => await new Promise<string[]>((resolve, reject) => {
    const job: CompareJob = { a, b, rels: leaves.slice(t * per, (t + 1) * per), mtimes }
    const w = new Worker(new URL('./big-tree-compare-worker.js', import.meta.url), { workerData: job })
    w.once('message', resolve)
    w.once('error', reject)
    w.once('exit', code => reject(new Error(`compare worker exited with code ${code}`)))
  })))
  return [...diffs, ...results.flat()]
}
