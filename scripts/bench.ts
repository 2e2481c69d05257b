import '../src/polyfill.js'
import { existsSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { workerCount } from '../src/repository/repository.js'
import { atMost, fmt, ratio, table, type Row } from './lib/bench-table.js'
import { BIN } from './lib/cli-runner.js'
import { measureDiskFloor } from './lib/disk-floor.js'
import { du, settle, timed } from './lib/measure.js'

/**
 * npm run bench: Holdfast beside restic on the same corpus, in the same run.
 *
 * The corpus is built by ../shared/bench/make-corpus.sh (or pass --corpus DIR). restic (Debian package
 * `restic`) backs up to a local repository; Holdfast to 6 directory stores at 4+2. Each command runs
 * under /usr/bin/time (Debian package `time`) for wall time and peak RSS, after a sync and a dropped page
 * cache (measure.ts settle()). Then the disk floor (lib/disk-floor.ts): the corpus read into memory and
 * written to a fresh directory with the restore's thread count, no fsync, as a restore writes. Prints the
 * table and the ratios against the targets; --json prints the figures as JSON. The figures are
 * also saved in the work folder's results.json (npm run bench:scale compares its peak RSS with them).
 *
 * Options: --corpus DIR, --work DIR (default /tmp/holdfast-bench), --skip-restic, --json, --keep
 */
const args = process.argv.slice(2)
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const flag = (name: string): boolean => args.includes(name)
const here = fileURLToPath(new URL('.', import.meta.url))
const work = resolve(opt('--work') ?? '/tmp/holdfast-bench')
const corpus = resolve(opt('--corpus') ?? join(work, 'corpus'))
const json = flag('--json')
const log = (s: string): void => { if (!json) process.stdout.write(s + '\n'); else process.stderr.write(s + '\n') }

async function main (): Promise<void> {
  await mkdir(work, { recursive: true })
  if (!existsSync(corpus)) {
    const script = resolve(here, '../../../shared/bench/make-corpus.sh')
    log(`building the corpus with ${script} ...`)
    const r = await timed('bash', [script, corpus])
    if (r.code !== 0) throw new Error('make-corpus.sh failed')
  }
  const results: Record<string, number> = {}
  const load = loadavg()
  const restic = !flag('--skip-restic')
  if (restic) {
    const repo = join(work, 'restic-repo')
    const target = join(work, 'restic-restore')
    await rm(repo, { recursive: true, force: true })
    await rm(target, { recursive: true, force: true })
    await settle()
    const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(work, 'restic-cache') }
    if ((await timed('restic', ['init'], env)).code !== 0) throw new Error('restic init failed (is restic installed? apt-get install restic)')
    await settle()
    log('restic: full backup ...')
    const b1 = await timed('restic', ['backup', '-q', corpus], env)
    log('restic: unchanged backup ...')
    const b2 = await timed('restic', ['backup', '-q', corpus], env)
    await settle()
    log('restic: restore ...')
    const r1 = await timed('restic', ['restore', 'latest', '--target', target], env)
    const rv = await timed('diff', ['-rq', '--no-dereference', corpus, join(target, corpus)])
    if (b1.code !== 0 || b2.code !== 0 || r1.code !== 0 || rv.code !== 0) throw new Error('restic did not back up and restore the corpus intact; its figures would be meaningless')
    Object.assign(results, { resticBackup: b1.wall, resticBackupRss: b1.rssMiB, resticRerun: b2.wall, resticRestore: r1.wall, resticRestoreRss: r1.rssMiB, resticSize: await du(repo) })
  }
  const home = join(work, 'hf-home')
  const stores = Array.from({ length: 6 }, (_, i) => join(work, `hf-store-${i + 1}`))
  const target = join(work, 'hf-restore')
  for (const p of [home, target, join(work, 'hf-restore-degraded'), ...stores]) await rm(p, { recursive: true, force: true })
  await settle()
  const env = { HOLDFAST_PASSPHRASE: 'bench', HOLDFAST_HOME: home }
  const node = process.execPath
  if ((await timed(BIN, ['init', ...stores.flatMap(s => ['--store', `dir:${s}`])], env)).code !== 0) throw new Error('holdfast init failed')
  await settle()
  log('holdfast: full backup ...')
  const b1 = await timed(BIN, ['backup', corpus], env)
  log('holdfast: unchanged backup ...')
  const b2 = await timed(BIN, ['backup', corpus], env)
  await settle()
  log('holdfast: restore ...')
  const r1 = await timed(BIN, ['restore', 'latest', '--target', target], env)
  const verify = await timed('diff', ['-rq', '--no-dereference', corpus, join(target, corpus)])
  log('holdfast: restore with 2 of 6 stores deleted ...')
  const size = await du(...stores)
  await rm(stores[0], { recursive: true, force: true })
  await rm(stores[3], { recursive: true, force: true })
  await settle()
  const target2 = join(work, 'hf-restore-degraded')
  const r2 = await timed(BIN, ['restore', 'latest', '--target', target2], env)
  const verify2 = await timed('diff', ['-rq', '--no-dereference', corpus, join(target2, corpus)])
  Object.assign(results, {
    holdfastBackup: b1.wall, holdfastBackupRss: b1.rssMiB, holdfastRerun: b2.wall, holdfastRerunRss: b2.rssMiB,
    holdfastRestore: r1.wall, holdfastRestoreRss: r1.rssMiB, holdfastRestoreDegraded: r2.wall, holdfastSize: size,
    restoreIdentical: verify.code === 0 && r1.code === 0 ? 1 : 0, degradedRestoreIdentical: verify2.code === 0 && r2.code === 0 ? 1 : 0
  })
  log('disk floor: reading the corpus into memory, then writing it ...')
  const floorDir = join(work, 'floor')
  await rm(floorDir, { recursive: true, force: true })
  let cacheDropped = true
  const floor = await measureDiskFloor(corpus, floorDir, { threads: workerCount(), beforeWrite: async () => { cacheDropped = await settle() } })
  results.diskFloor = floor.seconds
  results.diskFloorThreads = floor.threads
  log('erasure coding benchmark ...')
  const er = await timed(node, [join(here, 'bench-erasure.js'), '--json'])
  let erasureKernel = 'n/a'
  try {
    const parsed = JSON.parse(er.out)
    results.erasureEncode10p4GBps = parsed.results[0].GBps
    erasureKernel = parsed.kernel
  } catch { results.erasureEncode10p4GBps = NaN }
  if (!flag('--keep')) for (const p of [home, target, target2, floorDir, ...stores, join(work, 'restic-repo'), join(work, 'restic-cache'), join(work, 'restic-restore')]) await rm(p, { recursive: true, force: true })

  const R = results
  const rows: Row[] = [
    ['full backup (s)', fmt(R.holdfastBackup), fmt(R.resticBackup), ratio(R.holdfastBackup, R.resticBackup, 0.7), atMost(R.holdfastBackup / R.resticBackup, 0.7)],
    ['unchanged re-run (s)', fmt(R.holdfastRerun), fmt(R.resticRerun), ratio(R.holdfastRerun, R.resticRerun, 0.5), atMost(R.holdfastRerun / R.resticRerun, 0.5)],
    ['full restore (s)', fmt(R.holdfastRestore), fmt(R.resticRestore), ratio(R.holdfastRestore, R.resticRestore, 0.8), atMost(R.holdfastRestore / R.resticRestore, 0.8)],
    ['restore, 2 stores gone (s)', fmt(R.holdfastRestoreDegraded), '', '', undefined],
    [`disk floor: the corpus written from memory, ${R.diskFloorThreads} threads (s)`, fmt(R.diskFloor), '', '', undefined],
    ['full restore / disk floor', fmt(R.holdfastRestore / R.diskFloor), fmt(R.resticRestore / R.diskFloor), '<= 2x', atMost(R.holdfastRestore / R.diskFloor, 2)],
    ['peak RSS backup (MiB)', fmt(R.holdfastBackupRss, 0), fmt(R.resticBackupRss, 0), '<= 256', atMost(R.holdfastBackupRss, 256)],
    ['peak RSS restore (MiB)', fmt(R.holdfastRestoreRss, 0), fmt(R.resticRestoreRss, 0), '<= 256', atMost(R.holdfastRestoreRss, 256)],
    ['bytes stored (MB)', fmt(R.holdfastSize / 1e6, 0), fmt(R.resticSize / 1e6, 0), ratio(R.holdfastSize, R.resticSize, 1.575), atMost(R.holdfastSize / R.resticSize, 1.575)],
    ['erasure encode 10+4 (GB/s)', fmt(R.erasureEncode10p4GBps, 2), '', '>= 3', R.erasureEncode10p4GBps >= 3],
    ['restores byte-identical', R.restoreIdentical === 1 && R.degradedRestoreIdentical === 1 ? 'yes' : 'NO', '', '', R.restoreIdentical === 1 && R.degradedRestoreIdentical === 1]
  ]
  await writeFile(join(work, 'results.json'), JSON.stringify({ ...results, date: new Date().toISOString() }, null, 2) + '\n')
  if (json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n')
  } else {
    log(`\nerasure kernel: ${erasureKernel}; ${new Date().toISOString()}; page cache ${cacheDropped ? 'dropped' : 'NOT dropped (not root?)'} before each step; ` +
      `load average ${load.map(l => l.toFixed(2)).join(' ')} at the start, ${loadavg().map(l => l.toFixed(2)).join(' ')} at the end`)
    log('\n' + table(['measure', 'holdfast', 'restic 0.14', 'ratio (target)'], rows))
  }
}

main().catch(err => { process.stderr.write(`bench failed: ${(err as Error).message}\n`); process.exitCode = 1 })
