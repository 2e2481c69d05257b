import '../src/polyfill.js'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { runCli } from './lib/cli-runner.js'
import { startDaemon, type RunningDaemon } from './lib/daemon-runner.js'
import { ApiClient } from '../src/api/api-client.js'
import { inBatches } from './lib/in-batches.js'

/**
 * npm run bench:dashboard: how long the dashboard's Overview takes to load for a node with a history.
 * Real daemons on 127.0.0.1: an owner and --hosts hosts (50), paired by invite codes through the CLI.
 * With its first 6 hosts the owner makes --snapshots snapshots (1000) of a small set (one file changed
 * each time, through its daemon as `holdfast backup --set` does, so each is a real snapshot with a
 * session report, its packs at 4+2); then the other hosts start and pair. Then a
 * headless Chromium (Debian's) opens the Overview --loads times (10), each in a fresh browser context
 * (nothing cached), and the time from navigation to the protection sentence on screen is read from the
 * page's own clock (performance.now()); half the loads come after the daemon's 5-second pack-health
 * cache expired (cold), half right after another load (warm). The REST call behind it (/api/v1/overview)
 * is timed alone too. Target: under 300 ms.
 *
 * Options: --hosts N, --snapshots N, --loads N, --json, --keep (leave the directory).
 */
const args = process.argv.slice(2)
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const num = (name: string, dflt: number): number => { const v = opt(name); const n = v == null ? dflt : Number(v); if (!Number.isInteger(n) || n < 0) throw new Error(`${name} wants a whole number`); return n }
const json = args.includes('--json')
const HOSTS = num('--hosts', 50)
const SNAPSHOTS = num('--snapshots', 1000)
const LOADS = Math.max(2, num('--loads', 10))
const TARGET_MS = 300
const PASSPHRASE = 'bench-dashboard passphrase'
const log = (s: string): void => { (json ? process.stderr : process.stdout).write(s + '\n') }
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

function chromiumPath (): string {
  const found = [process.env.HOLDFAST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => p != null && p !== '' && existsSync(p))
  if (found == null) throw new Error('no Chromium found: install Debian\'s chromium package, or set HOLDFAST_CHROMIUM')
  return found
}


function stats (ms: number[]): { min: number, median: number, p90: number, max: number } {
  const s = [...ms].sort((a, b) => a - b)
  return { min: s[0], median: s[Math.floor(s.length / 2)], p90: s[Math.min(s.length - 1, Math.ceil(s.length * 0.9) - 1)], max: s[s.length - 1] }
}

const dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-dashboard-'))
const daemons: RunningDaemon[] = []
try {
  const names = ['owner', ...Array.from({ length: HOSTS }, (_, i) => `host${String(i + 1).padStart(2, '0')}`)]
  const src = join(dir, 'data')
  await mkdir(src)
  for (let i = 0; i < 20; i++) await writeFile(join(src, `file${i}.txt`), `file ${i}\n`.repeat(200))
  log(`bench:dashboard: ${HOSTS} hosts, ${SNAPSHOTS} snapshots, ${LOADS} page loads (in ${dir})`)
  let t = Date.now()
  await inBatches(names, 4, async (name, i) => {
    const home = join(dir, name)
    const r = await runCli(['init', '--home', home, '--name', name, '--site', `site${i % 5}`, ...(i === 0 ? ['--data-shards', '4', '--parity-shards', '2', '--pack-size', '256KiB'] : [])], { HOLDFAST_PASSPHRASE: PASSPHRASE })
    if (r.code !== 0) throw new Error(`init ${name}: ${r.stderr}`)
    await writeFile(join(home, 'node.json'), JSON.stringify({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      dht: false,
      scrub: { enabled: false },
      gui: i === 0 ? { listen: '127.0.0.1:0' } : { enabled: false },
      ...(i === 0 ? { maintenance: { enabled: false }, backup: { sets: [{ name: 'documents', paths: [src], schedule: '0 3 * * *' }] } } : {})
    }))
  })
  // the history is made with the first 6 hosts (placement then has its 4+2); the others join afterwards
  const first = Math.min(HOSTS, 6)
  const pair = async (owner: RunningDaemon, hosts: RunningDaemon[]): Promise<void> => {
    await inBatches(hosts, 3, async h => {
      const inv = await runCli(['peers', 'invite', '--quota', '2GiB', '--name', 'owner'], { HOLDFAST_HOME: h.home })
      if (inv.code !== 0) throw new Error(`invite: ${inv.stderr}`)
      const acc = await runCli(['peers', 'accept', inv.stdout.trim(), '--quota', '2GiB'], { HOLDFAST_HOME: owner.home })
      if (acc.code !== 0) throw new Error(`accept: ${acc.stderr}`)
    })
  }
  const start = async (some: string[]): Promise<RunningDaemon[]> => await inBatches(some, 4, async name => await startDaemon(join(dir, name), { HOLDFAST_PASSPHRASE: PASSPHRASE }, { bin: true, timeoutMs: 120_000 }))
  daemons.push(...await start(names.slice(0, first + 1)))
  const owner = daemons[0]
  await pair(owner, daemons.slice(1))
  log(`  owner and ${first} hosts started and paired in ${((Date.now() - t) / 1000).toFixed(1)} s`)

  // the history: one snapshot (and session report) per backup, through the owner's daemon
  t = Date.now()
  const client = await ApiClient.forHome(owner.home)
  if (client == null) throw new Error('the owner\'s daemon has no API socket')
  for (let i = 0; i < SNAPSHOTS; i++) {
    await writeFile(join(src, `file${i % 20}.txt`), `file ${i % 20}, version ${i}\n`.repeat(200))
    const out: string[] = []
    const { code } = await client.call<{ code: number }>('/cli', { argv: ['backup', '--home', owner.home, '--set', 'documents'], passphrase: PASSPHRASE }, { onEvent: (e: { out?: string, err?: string }) => { out.push(e.out ?? e.err ?? '') } })
    if (code !== 0) throw new Error(`backup ${i + 1}: exit ${code}: ${out.join('\n')}`)
    if ((i + 1) % 100 === 0) log(`  ${i + 1} snapshots (${((Date.now() - t) / (i + 1)).toFixed(0)} ms each)`)
  }
  t = Date.now()
  const rest = await start(names.slice(first + 1))
  daemons.push(...rest)
  await pair(owner, rest)
  log(`  ${rest.length} more hosts started and paired in ${((Date.now() - t) / 1000).toFixed(1)} s`)
  const base = (JSON.parse(await readFile(join(owner.home, 'daemon.json'), 'utf8')) as { gui: string }).gui

  // the REST call alone: cold (the pack-health cache expired) and warm
  const timeCall = async (): Promise<number> => { const s = performance.now(); const r = await fetch(`${base}/api/v1/overview`); await r.json(); if (!r.ok) throw new Error(`overview: HTTP ${r.status}`); return performance.now() - s }
  const apiCold: number[] = []
  const apiWarm: number[] = []
  for (let i = 0; i < Math.max(3, Math.floor(LOADS / 2)); i++) { await sleep(5500); apiCold.push(await timeCall()); apiWarm.push(await timeCall()) }

  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
  const cold: number[] = []
  const warm: number[] = []
  let summary = ''
  try {
    for (let i = 0; i < LOADS; i++) {
      const isCold = i % 2 === 0
      if (isCold) await sleep(5500)
      const context = await browser.newContext()
      const page = await context.newPage()
      await page.goto(`${base}/#/overview`)
      const el = page.getByTestId('protection-summary')
      await el.waitFor()
      const ms = await page.evaluate(() => performance.now())
      summary = await el.innerText()
      ;(isCold ? cold : warm).push(ms)
      await context.close()
    }
  } finally {
    await browser.close()
  }
  const figures = { hosts: HOSTS, snapshots: SNAPSHOTS, summary, pageCold: stats(cold), pageWarm: stats(warm), apiCold: stats(apiCold), apiWarm: stats(apiWarm), targetMs: TARGET_MS, met: Math.max(...cold, ...warm) < TARGET_MS }
  if (json) process.stdout.write(JSON.stringify(figures, null, 2) + '\n')
  else {
    const row = (what: string, s: { min: number, median: number, p90: number, max: number }): string => `  ${what.padEnd(34)} ${s.min.toFixed(0).padStart(6)} ${s.median.toFixed(0).padStart(7)} ${s.p90.toFixed(0).padStart(6)} ${s.max.toFixed(0).padStart(6)}`
    log(`\nOverview with ${SNAPSHOTS} snapshots and ${HOSTS} peers: "${summary}"`)
    log(`  ${''.padEnd(34)} ${'min'.padStart(6)} ${'median'.padStart(7)} ${'p90'.padStart(6)} ${'max'.padStart(6)}  (ms)`)
    log(row('page load, cold (cache expired)', figures.pageCold))
    log(row('page load, warm', figures.pageWarm))
    log(row('GET /api/v1/overview, cold', figures.apiCold))
    log(row('GET /api/v1/overview, warm', figures.apiWarm))
    log(`  target: every page load under ${TARGET_MS} ms: ${figures.met ? 'met' : 'NOT met'}`)
  }
} finally {
  await Promise.all(daemons.map(async d => await d.stop().catch(() => null)))
  if (!args.includes('--keep')) await rm(dir, { recursive: true, force: true })
}
