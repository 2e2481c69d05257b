import '../src/polyfill.js'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { workerCount } from '../src/repository/repository.js'
import { BIN } from './lib/cli-runner.js'
import { compareBigTrees } from './lib/big-tree-compare.js'
import { atMost, fmt, ratio, table, type Row } from './lib/bench-table.js'
import { measureDiskFloor } from './lib/disk-floor.js'
import { du, settle, timed, type Measure } from './lib/measure.js'
import { ensureTree } from './lib/seeded-tree-writer.js'

/**
 * npm run bench:scale: Holdfast beside restic on trees of many small files, in the same run.
 *
 * For each size, a seeded tree (scripts/lib/seeded-tree.ts: about 1.5 KB a file, 1 byte to 20 KiB, one
 * file in 20 a duplicate, directories of 50-200 entries) is written once into the work folder and reused
 * by later runs (a marker beside it records generator, seed and size). Then, each step timed under
 * /usr/bin/time (wall, peak RSS) after a sync and a dropped page cache (measure.ts settle()): restic init,
 * backup, unchanged backup, restore to a fresh target; Holdfast init (6 directory stores, 4+2, as npm run
 * bench), backup, unchanged backup, restore; each restore compared with the tree, byte for byte with modes
 * and mtimes (a restore that differs stops the run: its figures would mean nothing); then the disk floor
 * (lib/disk-floor.ts: the same files written from memory with the restore's thread count).
 * Prints a table per size as soon as it is measured (ratios Holdfast/restic, targets), then the peak RSS
 * across sizes; the figures are saved in the work folder's results.json as they come.
 *
 * `corpus` in --sizes runs the benchmark corpus of npm run bench through the same steps; otherwise the
 * spread of peak RSS includes the corpus figures of the last `npm run bench` (its results.json), if any.
 *
 * Options: --work DIR (default /tmp/holdfast-bench-scale), --sizes 200000,1000000 (file counts, or
 * `corpus`), --seed N (default 1), --corpus DIR (default /tmp/holdfast-bench/corpus),
 * --corpus-results FILE (default /tmp/holdfast-bench/results.json), --skip-restic, --json, --keep
 * (keep repositories, stores and restores; the generated trees are always kept for the next run).
 */
const args = process.argv.slice(2)
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const flag = (name: string): boolean => args.includes(name)
const here = fileURLToPath(new URL('.', import.meta.url))
const work = resolve(opt('--work') ?? '/tmp/holdfast-bench-scale')
const sizes = (opt('--sizes') ?? '200000,1000000').split(',').map(s => s.trim()).filter(s => s !== '')
const seed = Number(opt('--seed') ?? 1)
const corpusDir = resolve(opt('--corpus') ?? '/tmp/holdfast-bench/corpus')
const corpusResults = resolve(opt('--corpus-results') ?? '/tmp/holdfast-bench/results.json')
const json = flag('--json')
const log = (s: string): void => { if (!json) process.stdout.write(s + '\n'); else process.stderr.write(s + '\n') }

const RSS_LIMIT_MIB = 256
const RSS_SPREAD = 0.15
const FLOOR_MULTIPLE = 2
/** wall-time targets against restic, by size: the issue's for the corpus, the scale targets for 200,000 files */
const WALL_TARGETS: Record<string, { backup?: number, rerun?: number, restore?: number }> = {
  corpus: { backup: 0.7, rerun: 0.5, restore: 0.8 },
  200000: { backup: 0.8, restore: 0.8 }
}

interface Steps { backup: Measure, rerun: Measure, restore: Measure, stored: number }

interface SizeResult {
  label: string
  files: number
  bytes: number
  treeSeconds: number
  treeReused: boolean
  restic?: Steps
  holdfast: Steps
  floor: { seconds: number, threads: number }
  /** wall seconds of this size's whole benchmark (tree, both tools, verification, floor) */
  elapsed: number
  cacheDropped: boolean
}

async function main (): Promise<void> {
  if (sizes.length === 0 || sizes.some(s => s !== 'corpus' && !(Number.isInteger(Number(s)) && Number(s) > 0))) throw new Error(`--sizes takes file counts or corpus, not ${opt('--sizes')}`)
  await mkdir(work, { recursive: true })
  const began = Date.now()
  const load = loadavg()
  log(`load average at the start: ${load.map(l => l.toFixed(2)).join(' ')}`)
  const results: SizeResult[] = []
  const cleanup: string[] = []
  const header = (): string => `${new Date().toISOString()}; restic 0.14 to a local repository, Holdfast to 6 directory stores at 4+2; ` +
    `page cache ${results.every(r => r.cacheDropped) ? 'dropped' : 'NOT dropped (not root?)'} before each step; ` +
    `load average ${load.map(l => l.toFixed(2)).join(' ')} at the start, ${loadavg().map(l => l.toFixed(2)).join(' ')} now`
  const save = async (corpus?: CorpusRss): Promise<string> => {
    const all = { loadAverageAtStart: load, loadAverageAtEnd: loadavg(), seconds: (Date.now() - began) / 1000, results, corpusFromBench: corpus }
    const text = JSON.stringify(all, null, 2) + '\n'
    await writeFile(join(work, 'results.json'), text)
    return text
  }
  try {
    // each size's table is printed (and saved in results.json) as soon as it is measured: a long run
    // interrupted later, or during the clean-up, keeps its figures
    for (const size of sizes) {
      const r = await runSize(size, cleanup)
      results.push(r)
      log(`\n${header()}\n\n${sizeTable(r)}\n`)
      await save()
    }
    const corpus = results.find(r => r.label === 'corpus') == null ? await lastCorpusRun() : undefined
    const text = await save(corpus)
    if (json) process.stdout.write(text)
    log(`\n${spreadTable(results, corpus)}`)
    log(`\nwhole run: ${((Date.now() - began) / 1000).toFixed(0)} s; per size: ${results.map(r => `${r.label} ${r.elapsed.toFixed(0)} s`).join(', ')}`)
  } finally {
    if (!flag('--keep')) {
      log('removing repositories, stores and restores ...')
      for (const p of cleanup) await rm(p, { recursive: true, force: true })
      await timed('sync', [])
    }
  }
}

async function runSize (size: string, cleanup: string[]): Promise<SizeResult> {
  const started = Date.now()
  const label = size === 'corpus' ? 'corpus' : String(Number(size))
  let src: string
  let files: number
  let bytes: number
  let treeSeconds = 0
  let treeReused = true
  if (label === 'corpus') {
    src = corpusDir
    if (!existsSync(src)) {
      const script = resolve(here, '../../../shared/bench/make-corpus.sh')
      log(`building the corpus with ${script} ...`)
      await mkdir(resolve(src, '..'), { recursive: true })
      if ((await timed('bash', [script, src])).code !== 0) throw new Error('make-corpus.sh failed')
    }
    const m = await timed('du', ['-sb', '--apparent-size', src])
    bytes = Number(/^(\d+)/.exec(m.out)?.[1] ?? NaN)
    files = Number((await timed('sh', ['-c', `find "${src}" -type f | wc -l`])).out.trim())
  } else {
    src = join(work, `tree-${label}`)
    log(`[${label}] seeded tree (seed ${seed}) in ${src} ...`)
    const tree = await ensureTree(src, { seed, files: Number(label) })
    ;({ files, bytes } = tree)
    treeSeconds = tree.seconds
    treeReused = tree.reused
    log(`[${label}] ${tree.reused ? 'reused' : `written in ${tree.seconds.toFixed(1)} s`}: ${tree.files} files, ${tree.dirs} directories, ${(tree.bytes / 1e6).toFixed(0)} MB`)
  }
  const dir = join(work, `run-${label}`)
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  cleanup.push(dir)
  let cacheDropped = true
  const step = async (): Promise<void> => { cacheDropped = await settle() && cacheDropped }
  const verify = async (tool: string, target: string): Promise<void> => {
    log(`[${label}] ${tool}: comparing the restore with the tree ...`)
    const diffs = await compareBigTrees(src, join(target, src))
    if (diffs.length > 0) {
      throw new Error(`${tool}'s restore of ${label} differs from the tree in ${diffs.length} places, e.g.\n  ${diffs.slice(0, 10).join('\n  ')}\nits figures would mean nothing`)
    }
  }

  let restic: Steps | undefined
  if (!flag('--skip-restic')) {
    const repo = join(dir, 'restic-repo')
    const target = join(dir, 'restic-restore')
    const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(dir, 'restic-cache') }
    if ((await timed('restic', ['init'], env)).code !== 0) throw new Error('restic init failed (is restic installed? apt-get install restic)')
    await step()
    log(`[${label}] restic: full backup ...`)
    const backup = await timed('restic', ['backup', '-q', src], env)
    await step()
    log(`[${label}] restic: unchanged backup ...`)
    const rerun = await timed('restic', ['backup', '-q', src], env)
    await step()
    log(`[${label}] restic: restore ...`)
    const restore = await timed('restic', ['restore', 'latest', '--target', target], env)
    if (backup.code !== 0 || rerun.code !== 0 || restore.code !== 0) throw new Error('restic failed; its figures would mean nothing')
    await verify('restic', target)
    restic = { backup, rerun, restore, stored: await du(repo) }
  }

  const home = join(dir, 'hf-home')
  const stores = Array.from({ length: 6 }, (_, i) => join(dir, `hf-store-${i + 1}`))
  const target = join(dir, 'hf-restore')
  const env = { HOLDFAST_PASSPHRASE: 'bench', HOLDFAST_HOME: home }
  if ((await timed(BIN, ['init', ...stores.flatMap(s => ['--store', `dir:${s}`])], env)).code !== 0) throw new Error('holdfast init failed')
  await step()
  log(`[${label}] holdfast: full backup ...`)
  const backup = await timed(BIN, ['backup', src], env)
  await step()
  log(`[${label}] holdfast: unchanged backup ...`)
  const rerun = await timed(BIN, ['backup', src], env)
  await step()
  log(`[${label}] holdfast: restore ...`)
  const restore = await timed(BIN, ['restore', 'latest', '--target', target], env)
  if (backup.code !== 0 || rerun.code !== 0 || restore.code !== 0) throw new Error('holdfast failed; its figures would mean nothing')
  await verify('holdfast', target)
  const holdfast: Steps = { backup, rerun, restore, stored: await du(...stores) }

  log(`[${label}] disk floor: reading the tree into memory, then writing it ...`)
  const floor = await measureDiskFloor(src, join(dir, 'floor'), { threads: workerCount(), beforeWrite: step })
  if (floor.files + floor.symlinks === 0) throw new Error('the disk floor wrote nothing')
  const elapsed = (Date.now() - started) / 1000
  log(`[${label}] done in ${elapsed.toFixed(0)} s`)
  return { label, files, bytes, treeSeconds, treeReused, restic, holdfast, floor: { seconds: floor.seconds, threads: floor.threads }, elapsed, cacheDropped }
}

function sizeTable (r: SizeResult): string {
  const h = r.holdfast
  const x = r.restic
  const t = WALL_TARGETS[r.label] ?? {}
  const vs = (a: Measure, b: Measure | undefined, target?: number): [string, boolean | undefined] =>
    [b == null ? '' : ratio(a.wall, b.wall, target), b == null || target == null ? undefined : atMost(a.wall / b.wall, target)]
  const rows: Row[] = [
    ['full backup (s)', fmt(h.backup.wall), fmt(x?.backup.wall), ...vs(h.backup, x?.backup, t.backup)],
    ['unchanged re-run (s)', fmt(h.rerun.wall), fmt(x?.rerun.wall), ...vs(h.rerun, x?.rerun, t.rerun)],
    ['restore (s)', fmt(h.restore.wall), fmt(x?.restore.wall), ...vs(h.restore, x?.restore, t.restore)],
    [`disk floor: the files written from memory, ${r.floor.threads} threads (s)`, fmt(r.floor.seconds), '', '', undefined],
    ['restore / disk floor', fmt(h.restore.wall / r.floor.seconds), x == null ? '' : fmt(x.restore.wall / r.floor.seconds), `<= ${FLOOR_MULTIPLE}x`, atMost(h.restore.wall / r.floor.seconds, FLOOR_MULTIPLE)],
    ['peak RSS, backup (MiB)', fmt(h.backup.rssMiB, 0), fmt(x?.backup.rssMiB, 0), `<= ${RSS_LIMIT_MIB}`, atMost(h.backup.rssMiB, RSS_LIMIT_MIB)],
    ['peak RSS, unchanged re-run (MiB)', fmt(h.rerun.rssMiB, 0), fmt(x?.rerun.rssMiB, 0), '', undefined],
    ['peak RSS, restore (MiB)', fmt(h.restore.rssMiB, 0), fmt(x?.restore.rssMiB, 0), `<= ${RSS_LIMIT_MIB}`, atMost(h.restore.rssMiB, RSS_LIMIT_MIB)],
    ['bytes stored (MB)', fmt(h.stored / 1e6, 0), fmt(x == null ? undefined : x.stored / 1e6, 0), x == null ? '' : ratio(h.stored, x.stored), undefined],
    ['restores identical to the tree (bytes, modes, mtimes)', 'yes', x == null ? '' : 'yes', '', true]
  ]
  const what = r.label === 'corpus'
    ? `the benchmark corpus: ${r.files} files, ${(r.bytes / 1e6).toFixed(0)} MB`
    : `${r.files} files, ${(r.bytes / 1e6).toFixed(0)} MB (seed ${seed}; tree ${r.treeReused ? 'reused' : `written in ${r.treeSeconds.toFixed(0)} s`})`
  return `${what}; this size took ${r.elapsed.toFixed(0)} s\n\n${table(['measure', 'holdfast', 'restic 0.14', 'holdfast/restic (target)'], rows)}`
}

interface CorpusRss { backupRss: number, restoreRss: number, date: string }

/** The corpus's peak RSS from the last npm run bench (its --work folder's results.json), if there is one. */
async function lastCorpusRun (): Promise<CorpusRss | undefined> {
  try {
    const r = JSON.parse(await readFile(corpusResults, 'utf8'))
    if (typeof r.holdfastBackupRss !== 'number' || typeof r.holdfastRestoreRss !== 'number') return undefined
    return { backupRss: r.holdfastBackupRss, restoreRss: r.holdfastRestoreRss, date: String(r.date ?? 'unknown date') }
  } catch {
    return undefined
  }
}

function spreadTable (results: SizeResult[], corpus: CorpusRss | undefined): string {
  const cols: Array<{ name: string, backup: number, restore: number }> = []
  if (corpus != null) cols.push({ name: `corpus (npm run bench, ${corpus.date})`, backup: corpus.backupRss, restore: corpus.restoreRss })
  for (const r of results) cols.push({ name: r.label, backup: r.holdfast.backup.rssMiB, restore: r.holdfast.restore.rssMiB })
  const spread = (v: number[]): number => Math.max(...v) / Math.min(...v) - 1
  const line = (name: string, v: number[]): string => {
    const s = spread(v)
    const verdict = cols.length < 2 ? '' : s <= RSS_SPREAD ? 'PASS' : 'FAIL'
    return `| ${name} | ${v.map(n => fmt(n, 0)).join(' | ')} | ${cols.length < 2 ? 'n/a' : `${(s * 100).toFixed(0)}%`} (<= ${RSS_SPREAD * 100}%) | ${verdict} |`
  }
  const missing = corpus == null && results.every(r => r.label !== 'corpus') ? '\n(no corpus figures: run npm run bench first, or add corpus to --sizes)' : ''
  return [
    'Holdfast peak RSS (MiB) across sizes: the targets are <= 256 MiB at every size and the sizes within 15% of each other (max/min - 1)',
    '',
    `| peak RSS | ${cols.map(c => c.name).join(' | ')} | spread (target) | |`,
    `| --- | ${cols.map(() => '---').join(' | ')} | --- | --- |`,
    line('backup', cols.map(c => c.backup)),
    line('restore', cols.map(c => c.restore))
  ].join('\n') + missing
}

main().catch(err => { process.stderr.write(`bench:scale failed: ${(err as Error).message}\n`); process.exitCode = 1 })

