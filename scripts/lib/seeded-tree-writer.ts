import { existsSync } from 'node:fs'
import { chmod, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { DIR_MTIME, GENERATOR_VERSION, treeLayout, type TreeSpec } from './seeded-tree.js'
import type { WriterJob } from './seeded-tree-worker.js'
import { timed } from './measure.js'

/** What a marker beside a finished tree records (`<dir>.json`); a tree without a matching one is rebuilt. */
export interface TreeMarker { generator: number, seed: number, files: number, dirs: number, bytes: number }

export interface EnsuredTree extends TreeMarker {
  /** true when an existing tree with a matching marker was kept */
  reused: boolean
  /** seconds spent writing it (0 when reused) */
  seconds: number
}

/**
 * Makes sure `dir` holds the seeded tree `spec` (seeded-tree.ts): kept when its marker file records the
 * same generator version, seed and file count, otherwise deleted and written again by `threads` worker
 * threads (each writes whole leaf directories with synchronous calls: `threads` files in flight at once).
 * Directory modes and mtimes are set last, deepest first; everything is synced before the marker is written.
 */
export async function ensureTree (dir: string, spec: TreeSpec, options: { threads?: number } = {}): Promise<EnsuredTree> {
  const markerPath = `${dir}.json`
  if (existsSync(dir) && existsSync(markerPath)) {
    try {
      const m = JSON.parse(await readFile(markerPath, 'utf8')) as TreeMarker
      if (m.generator === GENERATOR_VERSION && m.seed === spec.seed && m.files === spec.files) return { ...m, reused: true, seconds: 0 }
    } catch {}
  }
  const started = Date.now()
  await rm(markerPath, { force: true })
  await rm(dir, { recursive: true, force: true })
  const layout = treeLayout(spec)
  await mkdir(dir, { recursive: true })
  for (const p of layout.parents) await mkdir(join(dir, p), { mode: 0o755 })
  const threads = Math.max(1, options.threads ?? availableParallelism())
  const shares = Array.from({ length: threads }, (_, t) => layout.leaves.filter((_, i) => i % threads === t))
  const done = await Promise.all(shares.map(async leaves => await new Promise<{ files: number, bytes: number }>((resolve, reject) => {
    const job: WriterJob = { root: dir, spec, leaves }
    const w = new Worker(new URL('./seeded-tree-worker.js', import.meta.url), { workerData: job })
    w.once('message', resolve)
    w.once('error', reject)
    w.once('exit', code => reject(new Error(`tree writer exited with code ${code}`)))
  })))
  const files = done.reduce((s, d) => s + d.files, 0)
  const bytes = done.reduce((s, d) => s + d.bytes, 0)
  if (files !== spec.files) throw new Error(`wrote ${files} files, expected ${spec.files}`)
  const dirs = [...layout.leaves.map(l => l.path), ...layout.parents, '']
  for (const d of dirs) {
    await chmod(join(dir, d), 0o755)
    await utimes(join(dir, d), DIR_MTIME, DIR_MTIME)
  }
  if ((await timed('sync', [])).code !== 0) throw new Error('sync failed')
  const marker: TreeMarker = { generator: GENERATOR_VERSION, seed: spec.seed, files, dirs: dirs.length, bytes }
  await writeFile(markerPath, JSON.stringify(marker) + '\n')
  return { ...marker, reused: false, seconds: (Date.now() - started) / 1000 }
}
