import { readdirSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { forEachLimit } from '../../src/util/for-each-limit.js'
import type { FloorJob } from './disk-floor-worker.js'

/**
 * The disk floor of a restore: the time to write a tree's files from memory to a fresh directory, with no
 * decryption, no decompression, no hashing. The tree is first read into memory (`threads` worker threads,
 * each holding its share: about the tree's size in RAM), then `beforeWrite` runs (say, to sync and drop the
 * page cache), and then the timed part: the directories created as the restore creates them (a level at a
 * time, 32 at once through the thread pool), then each thread writes its files and symlinks with
 * synchronous calls, as the restore's worker threads do, with the same fsync policy (none). The floor sets
 * no modes, times or owners and renames nothing: it is what any restore has to do at least.
 * The seconds run from the first directory created to the last file closed.
 */
export interface FloorResult { seconds: number, dirs: number, files: number, symlinks: number, bytes: number, threads: number }

export async function measureDiskFloor (src: string, dest: string, options: { threads: number, beforeWrite?: () => Promise<void> }): Promise<FloorResult> {
  const dirs: string[] = []
  const entries: Array<[string, boolean]> = []
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(src, rel), { withFileTypes: true })) {
      const r = join(rel, e.name)
      if (e.isDirectory()) { dirs.push(r); walk(r) } else if (e.isFile()) entries.push([r, false]); else if (e.isSymbolicLink()) entries.push([r, true])
    }
  }
  walk('')
  const threads = Math.max(1, options.threads)
  const workers = Array.from({ length: threads }, (_, t) => {
    const job: FloorJob = { src, dest, entries: entries.filter((_, i) => i % threads === t) }
    return new Worker(new URL('./disk-floor-worker.js', import.meta.url), { workerData: job })
  })
  const answer = async (w: Worker, op: string): Promise<any> => await new Promise((resolve, reject) => {
    const onMessage = (m: { op: string }): void => { if (m.op === op) { w.off('error', reject); resolve(m) } }
    w.on('message', onMessage)
    w.once('error', reject)
  })
  try {
    const loaded = await Promise.all(workers.map(async w => await answer(w, 'loaded')))
    const bytes = loaded.reduce((s, m) => s + (m.bytes as number), 0)
    await options.beforeWrite?.()
    const started = process.hrtime.bigint()
    await mkdir(dest, { recursive: true })
    const byDepth = new Map<number, string[]>()
    for (const d of dirs) {
      const depth = d.split('/').length
      const level = byDepth.get(depth)
      if (level == null) byDepth.set(depth, [d]); else level.push(d)
    }
    for (const depth of [...byDepth.keys()].sort((x, y) => x - y)) {
      await forEachLimit(byDepth.get(depth)!, 32, async d => { await mkdir(join(dest, d)) })
    }
    await Promise.all(workers.map(async w => { const written = answer(w, 'written'); w.postMessage('go'); await written }))
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    return { seconds, dirs: dirs.length, files: entries.filter(e => !e[1]).length, symlinks: entries.filter(e => e[1]).length, bytes, threads }
  } finally {
    await Promise.all(workers.map(async w => await w.terminate()))
  }
}
