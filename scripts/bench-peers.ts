import '../src/polyfill.js'
import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BIN, runCli } from './lib/cli-runner.js'
import { startDaemon, type RunningDaemon } from './lib/daemon-runner.js'
import { du, processMemory, resetPeak, settle, timed } from './lib/measure.js'

/**
 * npm run bench:peers: Holdfast over the network beside restic, on the same corpus, in the same run.
 *
 * restic backs up to and restores from a local repository. Holdfast runs 7 daemons on 127.0.0.1 (an owner
 * and 6 hosts, separate processes, paired by invite codes); the owner backs the corpus up at 4+2 onto the
 * hosts through the CLI, two hosts are stopped, and the owner restores. Measured: wall times of the CLI
 * commands (under /usr/bin/time; daemons and timed commands run through bin/holdfast, as installed), the owner daemon's peak RSS (VmHWM, reset before each phase), and each host's RSS when idle,
 * before the backup and after it. Prints a table with the targets; --json prints the figures.
 *
 * Options: --corpus DIR, --work DIR (default /tmp/holdfast-bench-peers), --skip-restic, --json, --keep
 */
const args = process.argv.slice(2)
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const flag = (name: string): boolean => args.includes(name)
const here = fileURLToPath(new URL('.', import.meta.url))
const work = resolve(opt('--work') ?? '/tmp/holdfast-bench-peers')
const corpus = resolve(opt('--corpus') ?? join(work, 'corpus'))
const json = flag('--json')
const log = (s: string): void => { if (!json) process.stdout.write(s + '\n'); else process.stderr.write(s + '\n') }
const PASSPHRASE = 'bench'
const IDLE_MS = 15_000

async function idleRss (daemons: RunningDaemon[]): Promise<number[]> {
  await new Promise(resolve => setTimeout(resolve, IDLE_MS))
  return await Promise.all(daemons.map(async d => (await processMemory(d.process.pid!)).rssMiB))
}

async function main (): Promise<void> {
  await mkdir(work, { recursive: true })
  if (!existsSync(corpus)) {
    const script = resolve(here, '../../../shared/bench/make-corpus.sh')
    log(`building the corpus with ${script} ...`)
    if ((await timed('bash', [script, corpus])).code !== 0) throw new Error('make-corpus.sh failed')
  }
  const R: Record<string, number> = {}
  const cleanup: string[] = []
  if (!flag('--skip-restic')) {
    const repo = join(work, 'restic-repo')
    const target = join(work, 'restic-restore')
    cleanup.push(repo, target, join(work, 'restic-cache'))
    for (const p of cleanup) await rm(p, { recursive: true, force: true })
    await settle()
    const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: repo, RESTIC_CACHE_DIR: join(work, 'restic-cache') }
    if ((await timed('restic', ['init'], env)).code !== 0) throw new Error('restic init failed (is restic installed? apt-get install restic)')
    await settle()
    log('restic: full backup ...')
    const b = await timed('restic', ['backup', '-q', corpus], env)
    await settle()
    log('restic: restore ...')
    const r = await timed('restic', ['restore', 'latest', '--target', target], env)
    const v = await timed('diff', ['-rq', '--no-dereference', corpus, join(target, corpus)])
    if (b.code !== 0 || r.code !== 0 || v.code !== 0) throw new Error('restic did not back up and restore the corpus intact; its figures would be meaningless')
    Object.assign(R, { resticBackup: b.wall, resticRestore: r.wall })
  }

  const names = ['owner', ...Array.from({ length: 6 }, (_, i) => `host-${i + 1}`)]
  const homes = names.map(n => join(work, `hf-${n}`))
  const target = join(work, 'hf-restore')
  for (const p of [...homes, target]) await rm(p, { recursive: true, force: true })
  cleanup.push(...homes, target)
  const env = (home: string): NodeJS.ProcessEnv => ({ HOLDFAST_PASSPHRASE: PASSPHRASE, HOLDFAST_HOME: home })
  const daemons: RunningDaemon[] = []
  try {
    for (const [i, home] of homes.entries()) {
      const site = i === 0 ? 'home' : `site-${1 + (i % 3)}`
      const r = await runCli(['init', '--name', names[i], '--site', site], env(home))
      if (r.code !== 0) throw new Error(`holdfast init failed: ${r.stderr}`)
    }
    log('holdfast: starting 7 daemons and pairing ...')
    daemons.push(...await Promise.all(homes.map(async home => await startDaemon(home, env(home), { bin: true }))))
    const [owner, ...hosts] = daemons
    for (const h of hosts) {
      const inv = await runCli(['peers', 'invite', '--quota', '20GiB'], env(h.home))
      const acc = await runCli(['peers', 'accept', inv.stdout.trim(), '--quota', '20GiB'], env(owner.home))
      if (inv.code !== 0 || acc.code !== 0) throw new Error(`pairing failed: ${inv.stderr}${acc.stderr}`)
    }
    log(`holdfast: idle for ${IDLE_MS / 1000} s ...`)
    const idleBefore = await idleRss(hosts)
    await settle()
    log('holdfast: full backup onto the 6 hosts ...')
    for (const d of daemons) await resetPeak(d.process.pid!)
    const b = await timed(BIN, ['backup', corpus], env(owner.home))
    const ownerBackupPeak = (await processMemory(owner.process.pid!)).peakMiB
    const hostBackupPeak = Math.max(...await Promise.all(hosts.map(async h => (await processMemory(h.process.pid!)).peakMiB)))
    if (b.code !== 0) throw new Error('holdfast backup failed')
    const stored = await du(...hosts.map(h => join(h.home, 'shards')))
    log('holdfast: stopping 2 hosts ...')
    await hosts[1].stop()
    await hosts[4].stop()
    await settle()
    log('holdfast: restore with 2 of 6 hosts stopped ...')
    await resetPeak(owner.process.pid!)
    const r = await timed(BIN, ['restore', 'latest', '--target', target], env(owner.home))
    const v = await timed('diff', ['-rq', '--no-dereference', corpus, join(target, corpus)])
    const ownerMem = await processMemory(owner.process.pid!)
    log(`holdfast: idle for ${IDLE_MS / 1000} s ...`)
    const live = hosts.filter((_, i) => i !== 1 && i !== 4)
    const idleAfter = await idleRss(live)
    Object.assign(R, {
      holdfastBackup: b.wall,
      holdfastRestore2Down: r.wall,
      restoreIdentical: r.code === 0 && v.code === 0 ? 1 : 0,
      ownerPeakRss: Math.max(ownerBackupPeak, ownerMem.peakMiB),
      ownerPeakRssBackup: ownerBackupPeak,
      ownerPeakRssRestore: ownerMem.peakMiB,
      hostPeakRssBackup: hostBackupPeak,
      ownerCliBackupRss: b.rssMiB,
      hostIdleRssBefore: Math.max(...idleBefore),
      hostIdleRssAfter: Math.max(...idleAfter),
      storedOnHosts: stored
    })
  } finally {
    await Promise.all(daemons.map(async d => await d.stop()))
    if (!flag('--keep')) for (const p of cleanup) await rm(p, { recursive: true, force: true })
  }

  const rows: Array<[string, string, string, string, boolean | undefined]> = [
    ['full backup onto 6 hosts (s)', fmt(R.holdfastBackup), fmt(R.resticBackup), ratio(R.holdfastBackup, R.resticBackup, 1.0), R.holdfastBackup / R.resticBackup <= 1.0],
    ['restore, 2 of 6 hosts stopped (s)', fmt(R.holdfastRestore2Down), fmt(R.resticRestore), ratio(R.holdfastRestore2Down, R.resticRestore, 1.0), R.holdfastRestore2Down / R.resticRestore <= 1.0],
    ['owner daemon peak RSS (MiB)', fmt(R.ownerPeakRss, 0), '', '<= 300', R.ownerPeakRss <= 300],
    ['  during the backup', fmt(R.ownerPeakRssBackup, 0), '', '', undefined],
    ['  during the restore', fmt(R.ownerPeakRssRestore, 0), '', '', undefined],
    ['host daemon peak RSS during the backup (MiB, max of 6)', fmt(R.hostPeakRssBackup, 0), '', '', undefined],
    ['idle host RSS, before backup (MiB, max of 6)', fmt(R.hostIdleRssBefore, 0), '', '<= 80', R.hostIdleRssBefore <= 80],
    ['idle host RSS, after backup (MiB, max of 4)', fmt(R.hostIdleRssAfter, 0), '', '<= 80', R.hostIdleRssAfter <= 80],
    ['bytes on the hosts (MB)', fmt(R.storedOnHosts / 1e6, 0), '', '', undefined],
    ['restore byte-identical', R.restoreIdentical === 1 ? 'yes' : 'NO', '', '', R.restoreIdentical === 1]
  ]
  if (json) {
    process.stdout.write(JSON.stringify(R, null, 2) + '\n')
  } else {
    log(`\n${new Date().toISOString()}; owner and 6 hosts on 127.0.0.1, 4+2; restic 0.14 to a local repository`)
    log('\n| measure | holdfast | restic 0.14 | ratio (target) | |')
    log('| --- | --- | --- | --- | --- |')
    for (const [name, h, r, q, ok] of rows) log(`| ${name} | ${h} | ${r} | ${q} | ${ok === undefined ? '' : ok ? 'PASS' : 'FAIL'} |`)
  }
}

function fmt (n: number | undefined, digits = 2): string { return n == null || Number.isNaN(n) ? 'n/a' : n.toFixed(digits) }
function ratio (a: number, b: number, target: number): string { return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x (<= ${target}x)` : `(<= ${target}x)` }

main().catch(err => { process.stderr.write(`bench failed: ${(err as Error).message}\n`); process.exitCode = 1 })
