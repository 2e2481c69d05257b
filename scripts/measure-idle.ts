import '../src/polyfill.js'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, RunResult } from './lib/cli-runner.js'
import { startDaemon, RunningDaemon } from './lib/daemon-runner.js'
import { cpuSeconds, memory } from './lib/proc-stats.js'

/**
 * npm run bench:idle: what idle daemons cost. Inits an owner and 6 hosts (separate homes), starts 7 real
 * daemons on 127.0.0.1, pairs the owner with every host through the CLI (peers invite / accept), lets
 * them settle, then samples each daemon's CPU time (/proc/PID/stat utime+stime) and RSS
 * (/proc/PID/status VmRSS) while nothing happens. Then times a few CLI calls forwarded to the daemons
 * (peers list, snapshots) against `holdfast --version` (Node start-up and the CLI's own loading), and
 * reads the RSS again after them. Stops everything and removes the temporary directory.
 *
 * Options: --hosts N (6), --settle S (20), --sample S (30), --calls N (5 runs of each call), --json,
 * --keep (leave the directory), --profile DIR (the owner's and host1's daemons run with
 * --cpu-prof --cpu-prof-dir=DIR; the profiles are written when they stop, and DIR/idle-window.json holds
 * the idle window in the profiles' clock, microseconds).
 * Linux only (/proc).
 */
const args = process.argv.slice(2)
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const num = (name: string, dflt: number): number => { const v = opt(name); const n = v == null ? dflt : Number(v); if (!Number.isFinite(n) || n < 0) throw new Error(`${name} wants a number`); return n }
const flag = (name: string): boolean => args.includes(name)
const json = flag('--json')
const HOSTS = num('--hosts', 6)
const SETTLE_S = num('--settle', 20)
const SAMPLE_S = num('--sample', 30)
const CALLS = Math.max(1, num('--calls', 5))
const PROFILE = opt('--profile')
const PASSPHRASE = 'measure-idle passphrase'
const log = (s: string): void => { (json ? process.stderr : process.stdout).write(s + '\n') }
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

interface DaemonFigures { name: string, pid: number, cpuPercent: number, rssMeanMiB: number, rssMaxMiB: number, rssAfterCallsMiB?: number, hwmMiB?: number }
interface CallFigures { call: string, runs: number, minMs: number, medianMs: number, maxMs: number }

function stats (ms: number[]): { minMs: number, medianMs: number, maxMs: number } {
  const s = [...ms].sort((a, b) => a - b)
  return { minMs: s[0], medianMs: s[Math.floor(s.length / 2)], maxMs: s[s.length - 1] }
}

const root = await mkdtemp(join(tmpdir(), 'holdfast-idle-'))
const names = ['owner', ...Array.from({ length: HOSTS }, (_, i) => `host${i + 1}`)]
const homeOf = (name: string): string => join(root, name)
const env = (name: string): NodeJS.ProcessEnv => ({ HOLDFAST_HOME: homeOf(name), HOLDFAST_PASSPHRASE: PASSPHRASE })
const hf = async (name: string, argv: string[]): Promise<RunResult> => await runCli(argv, env(name), { timeoutMs: 120_000 })
const must = (r: RunResult, what: string): RunResult => {
  if (r.code !== 0) throw new Error(`${what}: exit ${r.code}\n${r.stdout}${r.stderr}`)
  return r
}

const daemons = new Map<string, RunningDaemon>()
try {
  log(`homes in ${root}`)
  await Promise.all(names.map(async (name, i) =>
    must(await hf(name, ['init', '--home', homeOf(name), '--name', name, '--site', i === 0 ? 'home' : `site${1 + (i % 3)}`]), `init ${name}`)))
  // --cpu-prof is refused in NODE_OPTIONS: it goes on the daemon's command line
  const nodeArgs = (name: string): string[] =>
    PROFILE != null && (name === 'owner' || name === 'host1') ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE}`] : []
  const starts = await Promise.allSettled(names.map(async name => {
    daemons.set(name, await startDaemon(homeOf(name), {}, { timeoutMs: 60_000, nodeArgs: nodeArgs(name) }))
  }))
  for (const s of starts) if (s.status === 'rejected') throw s.reason
  log(`${daemons.size} daemons started`)

  // a pairing that fails (seen under heavy load) is tried again with a new invite, and counted
  const pairingFailures: string[] = []
  for (const name of names.slice(1)) {
    for (let attempt = 1; ; attempt++) {
      const code = must(await hf(name, ['peers', 'invite', '--quota', '100MiB', '--name', 'owner']), `invite on ${name}`).stdout.trim()
      const r = await hf('owner', ['peers', 'accept', code, '--quota', '50MiB'])
      if (r.code === 0) break
      pairingFailures.push(`${name}: ${r.stderr.trim()}`)
      if (attempt === 3) must(r, `accept ${name}'s invite (attempt ${attempt})`)
    }
  }
  log(`owner paired with ${HOSTS} hosts${pairingFailures.length > 0 ? ` (${pairingFailures.length} failed attempts: ${pairingFailures.join('; ')})` : ''}; settling ${SETTLE_S} s`)
  await sleep(SETTLE_S * 1000)

  // idle: CPU time at both ends of the window, RSS every second
  const pids = names.map(n => daemons.get(n)!.process.pid!)
  const cpu0 = await Promise.all(pids.map(cpuSeconds))
  const t0 = process.hrtime.bigint()
  const rss: number[][] = names.map(() => [])
  for (let s = 0; s < SAMPLE_S; s++) {
    await sleep(1000)
    const m = await Promise.all(pids.map(memory))
    m.forEach((x, i) => rss[i].push(x.rss))
  }
  const cpu1 = await Promise.all(pids.map(cpuSeconds))
  const t1 = process.hrtime.bigint()
  const wall = Number(t1 - t0) / 1e9
  // V8's profile timestamps are microseconds of the same monotonic clock: lets a reader cut out the idle window
  if (PROFILE != null) await writeFile(join(PROFILE, 'idle-window.json'), JSON.stringify({ startUs: Number(t0 / 1000n), endUs: Number(t1 / 1000n) }) + '\n')
  const figures: DaemonFigures[] = names.map((name, i) => ({
    name,
    pid: pids[i],
    cpuPercent: 100 * (cpu1[i] - cpu0[i]) / wall,
    rssMeanMiB: rss[i].reduce((a, b) => a + b, 0) / rss[i].length,
    rssMaxMiB: Math.max(...rss[i])
  }))
  const online = JSON.parse(must(await hf('owner', ['peers', 'list', '--json']), 'peers list').stdout) as Array<{ online: boolean }>

  // forwarded calls, each against the CLI's bare start-up
  const calls: Array<[string, string, string[]]> = [
    ['holdfast --version (start-up)', 'owner', ['--version']],
    ['peers list (owner)', 'owner', ['peers', 'list']],
    ['peers list (host1)', 'host1', ['peers', 'list']],
    ['snapshots (owner)', 'owner', ['snapshots']]
  ]
  const callFigures: CallFigures[] = []
  for (const [label, name, argv] of calls) {
    const ms: number[] = []
    for (let i = 0; i < CALLS; i++) ms.push(must(await hf(name, argv), label).ms)
    callFigures.push({ call: label, runs: CALLS, ...stats(ms) })
  }
  const after = await Promise.all(pids.map(memory))
  after.forEach((m, i) => { figures[i].rssAfterCallsMiB = m.rss; figures[i].hwmMiB = m.hwm })

  if (json) {
    process.stdout.write(JSON.stringify({ hosts: HOSTS, pairingFailures, settleSeconds: SETTLE_S, sampleSeconds: wall, onlineAtOwner: online.filter(p => p.online).length, daemons: figures, calls: callFigures }, null, 2) + '\n')
  } else {
    const f1 = (n: number | undefined): string => n == null ? '-' : n.toFixed(1)
    log('')
    log(`idle for ${wall.toFixed(1)} s after ${SETTLE_S} s of settling; owner sees ${online.filter(p => p.online).length}/${online.length} peers online`)
    log('| daemon | idle CPU % | RSS mean MiB | RSS max MiB | RSS after calls MiB | peak RSS MiB |')
    log('| --- | --- | --- | --- | --- | --- |')
    for (const f of figures) log(`| ${f.name} | ${f.cpuPercent.toFixed(2)} | ${f1(f.rssMeanMiB)} | ${f1(f.rssMaxMiB)} | ${f1(f.rssAfterCallsMiB)} | ${f1(f.hwmMiB)} |`)
    const hostCpu = figures.slice(1).map(f => f.cpuPercent)
    if (hostCpu.length > 0) log(`hosts: idle CPU ${Math.min(...hostCpu).toFixed(2)}-${Math.max(...hostCpu).toFixed(2)} %, RSS ${f1(Math.min(...figures.slice(1).map(f => f.rssMeanMiB)))}-${f1(Math.max(...figures.slice(1).map(f => f.rssMeanMiB)))} MiB`)
    log('')
    log('| CLI call | runs | min ms | median ms | max ms |')
    log('| --- | --- | --- | --- | --- |')
    for (const c of callFigures) log(`| ${c.call} | ${c.runs} | ${c.minMs} | ${c.medianMs} | ${c.maxMs} |`)
  }
} finally {
  const codes = await Promise.all([...daemons.values()].map(async d => await d.stop()))
  if (codes.some(c => c !== 0)) log(`daemon exit codes: ${codes.join(' ')}`)
  if (flag('--keep')) log(`kept ${root}`)
  else await rm(root, { recursive: true, force: true, maxRetries: 3 })
}
