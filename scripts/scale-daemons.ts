import '../src/polyfill.js'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli, type RunResult } from './lib/cli-runner.js'
import { startDaemon, type RunningDaemon } from './lib/daemon-runner.js'
import { cpuSeconds, memory } from './lib/proc-stats.js'
import { compareTrees } from './lib/tree-compare.js'
import { inBatches } from './lib/in-batches.js'

/**
 * npm run sim:daemons: the scale study's real multi-process check. 50 daemons on 127.0.0.1 (separate
 * processes, libp2p over TCP) in 5 overlapping groups of 14 (each group shares 4 nodes with the next); the
 * first node of each group backs up a tree of its own onto the other 13 at 4+2 (paired by invite codes
 * through the CLI). Then 10 daemons stop (2 in each group), each owner audits (the stopped hosts are
 * unreachable), repairs (their shards regenerated on the others: graceSeconds is 1 here), checks that health
 * is full again with the 10 still stopped, and restores byte-identically. Idle CPU and RSS of every daemon
 * are sampled before the stop, and the loopback traffic of them all (pings, identify, the private DHT).
 * Discovery: the hosts of a group also pair in a ring (each with the next 3), so that the private DHT
 * (trusted peers only) spans the group; then in each group one host and the owner stop, the host comes back
 * at a new port, then the owner at a new port: the time until the owner sees the host again (and how:
 * dial, dht, inbound) is taken. Options: --nodes N (50), --idle SECONDS (30), --no-dht (with --ring: the
 * same pairings without the DHT, to compare its traffic), --json, --keep.
 */
const args = process.argv.slice(2)
const opt = (name: string): string | undefined => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const NODES = Number(opt('--nodes') ?? 50)
const IDLE_SECONDS = Number(opt('--idle') ?? 30)
const json = args.includes('--json')
const DHT = !args.includes('--no-dht')
const GROUPS = 5
const GROUP_SIZE = 14
const PASSPHRASE = 'scale-daemons passphrase'
const log = (s: string): void => { (json ? process.stderr : process.stdout).write(s + '\n') }
const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))


/** Bytes received on the loopback interface so far (every daemon here talks over 127.0.0.1). */
async function loopbackBytes (): Promise<number> {
  const line = (await readFile('/proc/net/dev', 'utf8')).split('\n').find(l => l.trim().startsWith('lo:'))
  return Number(line?.split(':')[1].trim().split(/\s+/)[0] ?? NaN)
}

const q = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))] }

const root = await mkdtemp(join(tmpdir(), 'holdfast-scale-'))
const names = Array.from({ length: NODES }, (_, i) => `n${String(i + 1).padStart(2, '0')}`)
const home = (i: number): string => join(root, names[i])
const hf = async (i: number, argv: string[]): Promise<RunResult> => await runCli(argv, { HOLDFAST_HOME: home(i), HOLDFAST_PASSPHRASE: PASSPHRASE }, { timeoutMs: 300_000 })
const must = (r: RunResult, what: string): RunResult => { if (r.code !== 0) throw new Error(`${what}: exit ${r.code}\n${r.stdout}${r.stderr}`); return r }
const step = NODES / GROUPS
const groups = Array.from({ length: GROUPS }, (_, g) => Array.from({ length: GROUP_SIZE }, (_, j) => (g * step + j) % NODES))
const owners = groups.map(g => g[0])
// two hosts of each group, none shared with another group
const stopped = groups.flatMap(g => [g[5], g[8]])

const daemons: Array<RunningDaemon | undefined> = []
const figures: Record<string, unknown> = { nodes: NODES, groups: GROUPS, groupSize: GROUP_SIZE }
try {
  log(`sim:daemons: ${NODES} daemons, ${GROUPS} groups of ${GROUP_SIZE} (in ${root})`)
  let t = Date.now()
  await inBatches(names, 4, async (name, i) => {
    const owner = owners.includes(i)
    must(await runCli(['init', '--home', home(i), '--name', name, '--site', `site${i % 7}`, ...(owner ? ['--data-shards', '4', '--parity-shards', '2', '--pack-size', '256KiB'] : [])], { HOLDFAST_PASSPHRASE: PASSPHRASE }), `init ${name}`)
    await writeFile(join(home(i), 'node.json'), JSON.stringify({
      listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: DHT, scrub: { enabled: false }, gui: { enabled: false },
      maintenance: { enabled: false, graceSeconds: 1 }
    }))
  })
  daemons.push(...await inBatches(names, 4, async (_, i) => await startDaemon(home(i), { HOLDFAST_PASSPHRASE: PASSPHRASE }, { bin: true, timeoutMs: 120_000 })))
  figures.startSeconds = (Date.now() - t) / 1000
  log(`  ${NODES} daemons initialised and started in ${(figures.startSeconds as number).toFixed(1)} s`)

  t = Date.now()
  // the ring leaves the owners out: an owner is a member of another group too, and paired in that group's
  // ring it would place shards on that group's stopped hosts as well (three of its hosts stopped: a 4+2
  // pack with a shard on each is unreadable until one is back, as health then rightly says)
  const ringOf = (g: number[]): number[] => g.slice(1).filter(h => !owners.includes(h))
  const ring = DHT || args.includes('--ring') ? groups.flatMap(g => ringOf(g).flatMap((h, j, r) => [1, 2, 3].map(d => r[(j + d) % r.length]).filter(x => x !== h).map(x => [h, x] as const))) : []
  const seen = new Set<string>()
  const pairs = [...groups.flatMap(g => g.slice(1).map(h => [g[0], h] as const)), ...ring].filter(([a, b]) => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`
    if (seen.has(key) || a === b) return false
    seen.add(key)
    return true
  })
  await inBatches(pairs, 3, async ([o, h]) => {
    const code = must(await hf(h, ['peers', 'invite', '--quota', '1GiB', '--name', names[o]]), `invite on ${names[h]}`).stdout.trim()
    must(await hf(o, ['peers', 'accept', code, '--quota', '1GiB']), `accept on ${names[o]}`)
  })
  figures.pairings = pairs.length
  figures.pairSeconds = (Date.now() - t) / 1000
  log(`  ${pairs.length} pairings by invite code in ${(figures.pairSeconds as number).toFixed(1)} s`)

  // one backup per group: each owner's own tree (random files, some text)
  t = Date.now()
  const trees = owners.map((_, g) => join(root, `data-${g}`))
  await Promise.all(trees.map(async (dir, g) => {
    await mkdir(join(dir, 'docs'), { recursive: true })
    for (let f = 0; f < 6; f++) await writeFile(join(dir, `blob${f}.bin`), randomBytes(256 * 1024 + g * 1000 + f))
    for (let f = 0; f < 30; f++) await writeFile(join(dir, 'docs', `note${f}.txt`), `group ${g} note ${f}\n`.repeat(100 + f))
  }))
  const backupMs = await inBatches(owners, 2, async (o, g) => { must(await hf(o, ['backup', trees[g]]), `backup on ${names[o]}`); return Date.now() - t })
  figures.backupSeconds = (Date.now() - t) / 1000
  log(`  ${owners.length} backups (one per group) in ${(figures.backupSeconds as number).toFixed(1)} s (last done after ${(Math.max(...backupMs) / 1000).toFixed(1)} s)`)

  // idle: every daemon sampled over IDLE_SECONDS once things settle
  await sleep(10_000)
  const pids = daemons.map(d => d!.process.pid!)
  const lo0 = await loopbackBytes()
  const cpu0 = await Promise.all(pids.map(cpuSeconds))
  const t0 = performance.now()
  const rss: number[][] = pids.map(() => [])
  for (let s = 0; s < IDLE_SECONDS; s += 5) {
    await sleep(5000)
    const m = await Promise.all(pids.map(memory))
    m.forEach((x, i) => rss[i].push(x.rss))
  }
  const cpu1 = await Promise.all(pids.map(cpuSeconds))
  const lo1 = await loopbackBytes()
  const wall = (performance.now() - t0) / 1000
  const trafficPerNodeDay = (lo1 - lo0) / wall * 86400 / NODES
  figures.idleTrafficPerNodePerDayMiB = trafficPerNodeDay / 1024 / 1024
  const cpuPercent = pids.map((_, i) => 100 * (cpu1[i] - cpu0[i]) / wall)
  const rssMean = rss.map(r => r.reduce((a, b) => a + b, 0) / r.length)
  figures.idle = { seconds: Math.round(wall), cpuPercent: { p50: q(cpuPercent, 0.5), max: Math.max(...cpuPercent), total: cpuPercent.reduce((a, b) => a + b, 0) }, rssMiB: { p50: q(rssMean, 0.5), max: Math.max(...rssMean), total: rssMean.reduce((a, b) => a + b, 0) } }
  log(`  idle over ${Math.round(wall)} s: CPU per daemon median ${q(cpuPercent, 0.5).toFixed(2)} %, max ${Math.max(...cpuPercent).toFixed(2)} % (all ${NODES}: ${cpuPercent.reduce((a, b) => a + b, 0).toFixed(1)} % of one core); RSS median ${q(rssMean, 0.5).toFixed(0)} MiB, max ${Math.max(...rssMean).toFixed(0)} MiB (all: ${(rssMean.reduce((a, b) => a + b, 0) / 1024).toFixed(2)} GiB)`)

  // 10 daemons stop; every owner audits, repairs, checks health, restores
  for (const i of stopped) await daemons[i]!.stop()
  log(`  stopped ${stopped.map(i => names[i]).join(' ')}`)
  await sleep(3000)
  const results = await inBatches(owners, 1, async (o, g) => {
    const audit = await hf(o, ['audit', '--json'])
    const a = JSON.parse(audit.stdout) as { stores: Array<{ unreachable: number, failed: number }> }
    const unreachableStores = a.stores.filter(s => s.unreachable > 0).length
    const repair = must(await hf(o, ['repair', '--json']), `repair on ${names[o]}`)
    const r = JSON.parse(repair.stdout) as { repaired: unknown[], failed: unknown[] }
    const health = await hf(o, ['health'])
    const target = join(root, `restore-${g}`)
    must(await hf(o, ['restore', 'latest', '--target', target]), `restore on ${names[o]}`)
    const diffs = await compareTrees(trees[g], join(target, trees[g]))
    return { owner: names[o], auditExit: audit.code, unreachableStores, repaired: r.repaired.length, repairFailed: r.failed.length, healthExit: health.code, identical: diffs.length === 0, diffs: diffs.slice(0, 3) }
  })
  figures.groups = results
  for (const r of results) log(`  ${r.owner}: audit exit ${r.auditExit} (${r.unreachableStores} hosts unreachable), ${r.repaired} packs repaired, ${r.repairFailed} failed, health exit ${r.healthExit} (0 = full), restore ${r.identical ? 'byte-identical' : `DIFFERS: ${r.diffs.join('; ')}`}`)
  // (each owner's stopped hosts are those of its group: no more, or a pack could rightly be unreadable)
  figures.ok = results.every(r => r.identical && r.repairFailed === 0 && r.healthExit === 0 && r.unreachableStores === stopped.length / GROUPS)
  log(`  idle traffic (loopback, all protocols${DHT ? ', the DHT included' : ''}): ${(trafficPerNodeDay / 1024 / 1024).toFixed(1)} MiB per node per day`)

  // discovery: a host and the owner both move (new ports) while apart; the owner finds the host again
  if (DHT) {
    const found = await inBatches(groups, 1, async g => {
      const [o, h] = [g[0], g[3]]
      await daemons[o]!.stop()
      await daemons[h]!.stop()
      daemons[h] = await startDaemon(home(h), { HOLDFAST_PASSPHRASE: PASSPHRASE }, { bin: true, timeoutMs: 120_000 })
      await sleep(3000)
      const started = Date.now()
      daemons[o] = await startDaemon(home(o), { HOLDFAST_PASSPHRASE: PASSPHRASE }, { bin: true, timeoutMs: 120_000 })
      const ready = Date.now()
      for (;;) {
        const r = await hf(o, ['peers', 'list', '--json'])
        const row = (JSON.parse(r.stdout) as Array<{ peerId: string, online: boolean, onlineVia?: string }>).find(p => p.peerId === daemons[h]!.peerId)
        if (row?.online === true) return { owner: names[o], host: names[h], msFromStart: Date.now() - started, msFromReady: Date.now() - ready, via: row.onlineVia ?? '?' }
        if (Date.now() - ready > 120_000) return { owner: names[o], host: names[h], msFromStart: NaN, msFromReady: NaN, via: 'not found in 120 s' }
        await sleep(200)
      }
    })
    figures.discovery = found
    for (const f of found) log(`  ${f.owner} found ${f.host} (both at new ports) ${(f.msFromReady / 1000).toFixed(1)} s after its daemon was up (via ${f.via})`)
    if (found.some(f => Number.isNaN(f.msFromReady))) figures.ok = false
  }
  log(figures.ok === true ? 'sim:daemons OK' : 'sim:daemons FAILED')
  if (json) process.stdout.write(JSON.stringify(figures, null, 2) + '\n')
  process.exitCode = figures.ok === true ? 0 : 1
} finally {
  await Promise.all(daemons.map(async d => await d?.stop()))
  if (!args.includes('--keep')) await rm(root, { recursive: true, force: true })
}
