/**
 * Crash trials (`npm run trials -- [--on dirs|daemons|both] [--points N] [--commands backup,prune] [--seed S]`):
 * each of backup, prune, repair, forget and rebuild-index is SIGKILLed at N random moments (50 by default),
 * as a power cut or an OOM kill would stop it: on a repository of directory stores (`--on dirs`, the
 * default: the CLI process is killed) or on real daemons (`--on daemons`: the owner's daemon, which runs
 * the command, or in every third trial a host's daemon). After each kill:
 * 1. the killed command runs again and must complete (exit 0; a forget whose snapshot is already gone
 *    counts as done);
 * 2. `check --read-data` must pass;
 * 3. every snapshot that must exist is restored and compared byte for byte with the files it was made of.
 * Expected: 0 snapshots lost, 0 wrong bytes, 0 commands that cannot complete. Prints a table.
 *
 * On directory stores each command's trials start from the same prepared repository (copied back before
 * every trial); on daemons one living network serves every trial. Either way the kill moments spread over
 * the command's whole run: the delay is drawn between 0 and 1.2x the time the command takes when it is not
 * killed (measured first).
 */
import { rmSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { CLI, runCli, type RunResult } from './lib/cli-runner.js'
import { compareTrees } from './lib/tree-compare.js'
import { startDaemon, type RunningDaemon } from './lib/daemon-runner.js'

const PASSPHRASE = 'crash trials passphrase'

/** What a failed check said (its findings go to stdout, its errors to stderr). */
function checkProblem (check: RunResult): string {
  const said = `${check.stdout}\n${check.stderr}`.trim().split('\n').filter(l => l.trim() !== '').slice(-4).join(' / ')
  return `check: exit ${check.code}: ${said}`
}
type Command = 'backup' | 'prune' | 'repair' | 'forget' | 'rebuild-index'
const ALL: Command[] = ['backup', 'prune', 'repair', 'forget', 'rebuild-index']

interface Args { points: number, commands: Command[], seed: number, on: 'dirs' | 'daemons' | 'both' }

function parseArgs (argv: string[]): Args {
  const out: Args = { points: 50, commands: ALL, seed: Date.now() % 1_000_000, on: 'dirs' }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--points') out.points = Number(argv[++i])
    else if (argv[i] === '--commands') out.commands = argv[++i].split(',') as Command[]
    else if (argv[i] === '--seed') out.seed = Number(argv[++i])
    else if (argv[i] === '--on') out.on = argv[++i] as Args['on']
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  if (!Number.isInteger(out.points) || out.points < 1) throw new Error('--points must be a positive integer')
  for (const c of out.commands) if (!ALL.includes(c)) throw new Error(`unknown command ${c}`)
  if (!['dirs', 'daemons', 'both'].includes(out.on)) throw new Error('--on must be dirs, daemons or both')
  return out
}

/** A small seeded PRNG (mulberry32), so a trial's kill moments can be replayed. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface World {
  dir: string
  home: string
  stores: string[]
  /** each snapshot that must exist after the command, with a copy of the tree it was made of */
  snapshots: Map<string, string>
  /** the source tree the next backup reads */
  src: string
  /** for forget: the snapshot being forgotten */
  forgetting?: string
}

const hf = async (home: string, args: string[]): Promise<RunResult> => await runCli(args, { HOLDFAST_HOME: home, HOLDFAST_PASSPHRASE: PASSPHRASE }, { timeoutMs: 300_000 })

async function must (home: string, args: string[]): Promise<RunResult> {
  const r = await hf(home, args)
  if (r.code !== 0) throw new Error(`holdfast ${args.join(' ')}: exit ${r.code}\n${r.stderr}`)
  return r
}

async function writeFiles (dir: string, count: number, size: number, tag: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (let i = 0; i < count; i++) await writeFile(join(dir, `${tag}-${i}.bin`), randomBytes(size))
}

async function snapshotOf (home: string, src: string, copies: string): Promise<[string, string]> {
  const r = await must(home, ['backup', '--json', src])
  const id = (JSON.parse(r.stdout) as { snapshot: string }).snapshot
  const copy = join(copies, id.slice(0, 12))
  await cp(src, copy, { recursive: true, preserveTimestamps: true })
  return [id, copy]
}

/** The repository each command's trials start from. */
async function prepare (command: Command, root: string): Promise<World> {
  // built where every trial runs (store ids are their paths): copied aside as the template afterwards
  const dir = join(root, 'run')
  const home = join(dir, 'home')
  const stores = Array.from({ length: 5 }, (_, i) => join(dir, 'stores', `s${i + 1}`))
  const copies = join(root, 'expected')
  await mkdir(copies, { recursive: true })
  await must(home, ['init', ...stores.flatMap(s => ['--store', `dir:${s}`]), '--data-shards', '3', '--parity-shards', '2', '--pack-size', '256KiB'])
  const src = join(root, 'src')
  const snapshots = new Map<string, string>()
  await writeFiles(join(src, 'a'), 12, 200_000, 'one')
  snapshots.set(...await snapshotOf(home, src, copies))
  await writeFiles(join(src, 'b'), 12, 200_000, 'two')
  await rm(join(src, 'a', 'one-0.bin'))
  snapshots.set(...await snapshotOf(home, src, copies))
  const world: World = { dir, home, stores, snapshots, src }
  if (command === 'backup') {
    await writeFiles(join(src, 'c'), 20, 300_000, 'three')
  } else if (command === 'prune') {
    const first = [...snapshots.keys()][0]
    await must(home, ['forget', first])
    snapshots.delete(first)
  } else if (command === 'repair') {
    await rm(join(stores[1], 'shard'), { recursive: true, force: true })
    await hf(home, ['audit']) // exit 1: it finds the lost shards
  } else if (command === 'forget') {
    world.forgetting = [...snapshots.keys()][0]
  }
  return world
}

const argsFor = (command: Command, w: World): string[] =>
  command === 'backup' ? ['backup', w.src] : command === 'forget' ? ['forget', w.forgetting!] : [command]

/** Runs a command and SIGKILLs it after `ms` (if still running). Returns whether it was killed. */
async function killAfter (home: string, args: string[], ms: number): Promise<boolean> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, HOLDFAST_HOME: home, HOLDFAST_PASSPHRASE: PASSPHRASE }, stdio: 'ignore' })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const timer = setTimeout(() => child.kill('SIGKILL'), ms)
  const code = await exited
  clearTimeout(timer)
  return code === null
}

interface Outcome { ms: number, killed: boolean, completed: boolean, checkOk: boolean, lost: number, wrong: number, problem?: string }

async function trial (command: Command, w: World, at: number, templateDir: string): Promise<Outcome> {
  const scratch = w.dir
  await rm(scratch, { recursive: true, force: true })
  await cp(templateDir, scratch, { recursive: true })
  const started = Date.now()
  const killed = await killAfter(w.home, argsFor(command, w), at)
  const out: Outcome = { ms: Date.now() - started, killed, completed: false, checkOk: false, lost: 0, wrong: 0 }
  // the repository's records and the register left by the killed run may disagree: the next run fixes it
  const again = await hf(w.home, argsFor(command, w))
  out.completed = again.code === 0 || (command === 'forget' && /no snapshot/.test(again.stderr))
  if (!out.completed) out.problem = `${command} again: exit ${again.code}: ${again.stderr.trim().split('\n').pop() ?? ''}`
  const check = await hf(w.home, ['check', '--read-data'])
  out.checkOk = check.code === 0
  if (!out.checkOk && out.problem == null) out.problem = checkProblem(check)
  const listed = await hf(w.home, ['snapshots', '--json'])
  const ids = listed.code === 0 ? (JSON.parse(listed.stdout) as Array<{ id: string }>).map(s => s.id) : []
  for (const [id, copy] of w.snapshots) {
    if (command === 'forget' && id === w.forgetting) continue
    if (!ids.includes(id)) { out.lost++; out.problem ??= `snapshot ${id.slice(0, 8)} is gone`; continue }
    const target = join(scratch, 'restore', id.slice(0, 12))
    await rm(target, { recursive: true, force: true })
    const r = await hf(w.home, ['restore', id, '--target', target])
    if (r.code !== 0) { out.lost++; out.problem ??= `restore ${id.slice(0, 8)}: exit ${r.code}: ${r.stderr.trim().split('\n').pop() ?? ''}`; continue }
    const diffs = await compareTrees(copy, join(target, w.src), { mtimes: false })
    if (diffs.length > 0) { out.wrong++; out.problem ??= `restore ${id.slice(0, 8)}: ${diffs[0]}` }
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// On real daemons (--on daemons): an owner without directory stores and HOSTS hosts, each a `holdfast
// daemon` process on 127.0.0.1, paired by invite codes. The owner's commands go through the CLI to its
// daemon (they run inside it), so the owner daemon is what a kill stops; every third trial a host daemon
// is killed instead. One living network serves every trial of every command: before each trial the state
// is set so that the command has work to do, and the snapshots that must exist are tracked as they change.

const HOSTS = 6
/** Snapshots kept between trials (older ones are forgotten, and pruned every few trials). */
const KEEP = 3

interface Net {
  root: string
  owner: RunningDaemon
  hosts: RunningDaemon[]
  /** each home's listen address, so that a restarted daemon comes back where its peers know it */
  listen: Map<string, string>
  /** every daemon started and not yet stopped */
  living: Set<RunningDaemon>
  src: string
  copies: string
  /** each snapshot that must exist, with a copy of the tree it was made of */
  snapshots: Map<string, string>
  /** snapshots forgotten on purpose (so that a listed snapshot known to neither is one a killed backup made) */
  forgotten: Set<string>
  /** for forget: the snapshot being forgotten */
  forgetting?: string
  serial: number
  /** snapshots forgotten since the last prune */
  garbage: number
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))
const lastLine = (s: string): string => s.trim().split('\n').pop() ?? ''

async function startNode (net: Pick<Net, 'listen' | 'living'>, home: string): Promise<RunningDaemon> {
  const at = net.listen.get(home)
  const d = await startDaemon(home, {}, { ...(at != null ? { listen: [at] } : {}), timeoutMs: 60_000 })
  net.living.add(d)
  void d.process.once('exit', () => net.living.delete(d))
  net.listen.set(home, d.addresses[0].replace(/\/p2p\/.*$/, ''))
  return d
}

/** Waits until the owner's daemon answers and sees every host online. */
async function waitReady (net: Net, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let seen = ''
  for (;;) {
    const r = await hf(net.owner.home, ['peers', 'list', '--json'])
    if (r.code === 0) {
      const list = JSON.parse(r.stdout) as Array<{ peerId: string, online: boolean }>
      const offline = net.hosts.filter(h => list.find(p => p.peerId === h.peerId)?.online !== true)
      if (offline.length === 0) return
      seen = `${offline.length} host(s) offline`
    } else seen = `peers list: exit ${r.code}: ${lastLine(r.stderr)}`
    if (Date.now() > deadline) throw new Error(`the network did not come back within ${timeoutMs / 1000} s: ${seen}`)
    await sleep(250)
  }
}

async function buildNet (root: string, living: Set<RunningDaemon>): Promise<Net> {
  const names = ['owner', ...Array.from({ length: HOSTS }, (_, i) => `host${i + 1}`)]
  const homes = names.map(n => join(root, n))
  // the owner keeps its shards on its trusted peers (no --store), 3+2: five hosts hold a pack's shards and
  // the sixth is a spare, so that a host killed mid-transfer leaves somewhere to go
  await Promise.all(homes.map(async (home, i) => await must(home, ['init', '--name', names[i], '--site', i === 0 ? 'home' : `site${1 + (i % 3)}`,
    ...(i === 0 ? ['--data-shards', '3', '--parity-shards', '2', '--pack-size', '256KiB'] : [])])))
  const listen = new Map<string, string>()
  const started = await Promise.all(homes.map(async home => await startNode({ listen, living }, home)))
  const [owner, ...hosts] = started
  for (const h of hosts) {
    const inv = await must(h.home, ['peers', 'invite', '--quota', '1GiB'])
    await must(owner.home, ['peers', 'accept', inv.stdout.trim(), '--quota', '1GiB'])
  }
  const net: Net = { root, owner, hosts, listen, living, src: join(root, 'src'), copies: join(root, 'expected'), snapshots: new Map(), forgotten: new Set(), serial: 0, garbage: 0 }
  await waitReady(net)
  await mkdir(net.copies, { recursive: true })
  await writeFiles(join(net.src, 'base'), 8, 200_000, 'base')
  await snapshot(net)
  return net
}

/** New files for the next backup (and the files of two backups ago gone), so that each backup has work. */
async function changeFiles (net: Net): Promise<void> {
  net.serial++
  await writeFiles(join(net.src, `t${net.serial}`), 3, 150_000, `t${net.serial}`)
  await rm(join(net.src, `t${net.serial - 2}`), { recursive: true, force: true })
}

/** A copy of the source tree as it is now (the files a backup of it must restore). */
async function copyOfSource (net: Net): Promise<string> {
  const copy = join(net.copies, `v${net.serial}`)
  await cp(net.src, copy, { recursive: true, preserveTimestamps: true, force: false, errorOnExist: false })
  return copy
}

async function snapshot (net: Net): Promise<void> {
  const r = await must(net.owner.home, ['backup', '--json', net.src])
  net.snapshots.set((JSON.parse(r.stdout) as { snapshot: string }).snapshot, await copyOfSource(net))
}

async function dropSnapshots (net: Net, ids: string[]): Promise<void> {
  for (const id of ids) {
    const copy = net.snapshots.get(id)
    net.snapshots.delete(id)
    net.forgotten.add(id)
    net.garbage++
    if (copy != null && ![...net.snapshots.values()].includes(copy)) await rm(copy, { recursive: true, force: true })
  }
}

/** Sets the network up so that the command has work to do; returns its arguments. */
async function prepareTrial (command: Command, net: Net, i: number): Promise<string[]> {
  net.forgetting = undefined
  if (command === 'backup') {
    await changeFiles(net)
    return ['backup', '--json', net.src]
  } else if (command === 'forget') {
    await changeFiles(net)
    await snapshot(net)
    net.forgetting = [...net.snapshots.keys()][0]
    return ['forget', net.forgetting]
  } else if (command === 'prune') {
    await changeFiles(net)
    await snapshot(net)
    const oldest = [...net.snapshots.keys()][0]
    await must(net.owner.home, ['forget', oldest])
    await dropSnapshots(net, [oldest])
    return ['prune']
  } else if (command === 'repair') {
    // a host loses every shard it keeps for the owner (its daemon running), and an audit finds out
    const h = net.hosts[i % HOSTS]
    await rm(join(h.home, 'shards', net.owner.peerId, 'shard'), { recursive: true, force: true })
    const audit = await hf(net.owner.home, ['audit'])
    if (audit.code !== 1) throw new Error(`audit after host${(i % HOSTS) + 1} lost its shards: exit ${audit.code}, expected 1: ${lastLine(audit.stderr)}`)
    return ['repair']
  }
  return ['rebuild-index']
}

/** Keeps the repository small between trials: at most KEEP snapshots, pruned every few forgotten ones. */
async function tidy (command: Command, net: Net): Promise<void> {
  const extra = [...net.snapshots.keys()].slice(0, Math.max(0, net.snapshots.size - KEEP))
  if (extra.length > 0) {
    await must(net.owner.home, ['forget', ...extra])
    await dropSnapshots(net, extra)
  }
  if (command === 'prune') net.garbage = 0
  else if (net.garbage >= 6) {
    await must(net.owner.home, ['prune'])
    net.garbage = 0
  }
}

/** Restarts a daemon that was killed, on the same home and address. */
async function restart (net: Net, victim: number | 'owner'): Promise<void> {
  if (victim === 'owner') net.owner = await startNode(net, net.owner.home)
  else net.hosts[victim] = await startNode(net, net.hosts[victim].home)
}

async function daemonTrial (command: Command, net: Net, i: number, at: number, victim: number | 'owner'): Promise<Outcome> {
  const args = await prepareTrial(command, net, i)
  const home = net.owner.home
  const target = victim === 'owner' ? net.owner : net.hosts[victim]
  const started = Date.now()
  let done = false
  const run = hf(home, args).finally(() => { done = true })
  let killing: Promise<unknown> | undefined
  const timer = setTimeout(() => { if (!done) killing = target.stop('SIGKILL') }, at)
  const first = await run
  clearTimeout(timer)
  const killed = killing != null
  await killing
  const out: Outcome = { ms: Date.now() - started, killed, completed: false, checkOk: false, lost: 0, wrong: 0 }
  const copy = command === 'backup' ? await copyOfSource(net) : undefined
  const made = (r: RunResult): void => { if (copy != null && r.code === 0) net.snapshots.set((JSON.parse(r.stdout) as { snapshot: string }).snapshot, copy) }
  made(first)
  if (killed) {
    try {
      await restart(net, victim)
    } catch (err) {
      throw new Error(`${command}: the ${victim === 'owner' ? 'owner' : `host${victim + 1}`} daemon killed at ${at} ms does not restart: ${(err as Error).message}`)
    }
  }
  await waitReady(net)
  const again = await hf(home, args)
  made(again)
  const gone = command === 'forget' && /no snapshot/.test(again.stderr)
  out.completed = (again.code === 0 || gone) && (killed || first.code === 0)
  if (!out.completed) {
    out.problem = again.code === 0 || gone
      ? `${command} not killed: exit ${first.code}: ${lastLine(first.stderr)}`
      : `${command} again: exit ${again.code}: ${lastLine(again.stderr)}`
  }
  if (net.forgetting != null) await dropSnapshots(net, [net.forgetting])
  const check = await hf(home, ['check', '--read-data'])
  out.checkOk = check.code === 0
  if (!out.checkOk) out.problem ??= checkProblem(check)
  if (out.problem != null && process.env.HOLDFAST_TRIALS_KEEP === '1') {
    // keep everything for a look: the commands' output and the daemons' logs, then stop the trials
    const said = (what: string, r: RunResult): string => `== ${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}\n`
    const logs = [net.owner, ...net.hosts].map(d => `== daemon ${d.home}\n${d.output()}\n`).join('')
    await writeFile(join(net.root, 'failure.txt'), `${out.problem}\nkill at ${at} ms of ${victim}\n${said('first', first)}${said('again', again)}${said('check', check)}${logs}`)
    throw new Error(`stopped at the first problem (HOLDFAST_TRIALS_KEEP=1): see ${join(net.root, 'failure.txt')}`)
  }
  const listed = await hf(home, ['snapshots', '--json'])
  const ids = listed.code === 0 ? (JSON.parse(listed.stdout) as Array<{ id: string }>).map(s => s.id) : []
  // a backup killed after its snapshot was written but before it could say so: the same files as the rerun's
  if (copy != null) for (const id of ids) if (!net.snapshots.has(id) && !net.forgotten.has(id)) net.snapshots.set(id, copy)
  for (const [id, copy] of net.snapshots) {
    if (!ids.includes(id)) { out.lost++; out.problem ??= `snapshot ${id.slice(0, 8)} is gone`; continue }
    const target = join(net.root, 'restore', id.slice(0, 12))
    await rm(target, { recursive: true, force: true })
    const r = await hf(home, ['restore', id, '--target', target])
    if (r.code !== 0) { out.lost++; out.problem ??= `restore ${id.slice(0, 8)}: exit ${r.code}: ${lastLine(r.stderr)}`; continue }
    const diffs = await compareTrees(copy, join(target, net.src), { mtimes: false })
    if (diffs.length > 0) { out.wrong++; out.problem ??= `restore ${id.slice(0, 8)}: ${diffs[0]}` }
    await rm(target, { recursive: true, force: true })
  }
  // a lost snapshot is counted once, not at every later trial
  for (const id of [...net.snapshots.keys()]) if (!ids.includes(id)) await dropSnapshots(net, [id])
  await tidy(command, net)
  if (copy != null && ![...net.snapshots.values()].includes(copy)) await rm(copy, { recursive: true, force: true })
  return out
}

interface Row { on: 'dirs' | 'daemons', command: Command, trials: number, killed: number, completed: number, checks: number, lost: number, wrong: number, note?: string }

async function runDaemons (args: Args, random: () => number, root: string, rows: Row[]): Promise<number> {
  let failed = 0
  const living = new Set<RunningDaemon>()
  const onSignal = (): void => { for (const d of living) d.process.kill('SIGKILL'); rmSync(root, { recursive: true, force: true }); process.exit(130) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    let t = Date.now()
    const net = await buildNet(join(root, 'daemons'), living)
    console.log(`daemons: owner and ${HOSTS} hosts started and paired in ${((Date.now() - t) / 1000).toFixed(1)} s`)
    for (const command of args.commands) {
      t = Date.now()
      const first = await daemonTrial(command, net, 0, 3_600_000, 'owner')
      const fullMs = Math.max(100, first.ms)
      if (first.problem != null) throw new Error(`${command} fails on daemons without a kill: ${first.problem}`)
      console.log(`${command} on daemons: ${fullMs} ms when not killed`)
      const row: Row = { on: 'daemons', command, trials: args.points, killed: 0, completed: 0, checks: 0, lost: 0, wrong: 0 }
      const problems: string[] = []
      let hostKills = 0
      for (let i = 1; i <= args.points; i++) {
        const at = Math.floor(random() * fullMs * 1.2)
        // every third trial a host dies mid-command instead of the owner (restarted once the command ends)
        const victim = i % 3 === 0 ? Math.floor(random() * HOSTS) : 'owner'
        const o = await daemonTrial(command, net, i, at, victim)
        if (o.killed) row.killed++
        if (o.killed && victim !== 'owner') hostKills++
        if (o.completed) row.completed++
        if (o.checkOk) row.checks++
        row.lost += o.lost
        row.wrong += o.wrong
        if (o.problem != null) problems.push(`kill of ${victim === 'owner' ? 'the owner' : `host${victim + 1}`} at ${at} ms: ${o.problem}`)
        process.stdout.write(o.problem != null ? 'x' : '.')
      }
      process.stdout.write('\n')
      row.note = `${hostKills} of the kills were of a host`
      rows.push(row)
      console.log(`${command} on daemons: ${args.points} trials in ${((Date.now() - t) / 1000).toFixed(0)} s (${row.killed} kills, ${hostKills} of a host)`)
      if (problems.length > 0) { failed++; for (const p of problems.slice(0, 5)) console.log(`  ${command}: ${p}`) }
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await Promise.all([...living].map(async d => await d.stop()))
  }
  return failed
}

async function runDirs (args: Args, random: () => number, root: string, rows: Row[]): Promise<number> {
  let failed = 0
  for (const command of args.commands) {
    const base = join(root, command)
    await mkdir(base, { recursive: true })
    const world = await prepare(command, base)
    const templateDir = join(base, 'template')
    await cp(world.dir, templateDir, { recursive: true })
    // how long the command takes when nobody kills it
    const first = await trial(command, world, 3_600_000, templateDir)
    const fullMs = Math.max(100, first.ms)
    if (first.problem != null) throw new Error(`${command} fails without a kill: ${first.problem}`)
    console.log(`${command}: ${fullMs} ms when not killed`)
    const row: Row = { on: 'dirs', command, trials: args.points, killed: 0, completed: 0, checks: 0, lost: 0, wrong: 0 }
    const problems: string[] = []
    for (let i = 0; i < args.points; i++) {
      const at = Math.floor(random() * fullMs * 1.2)
      const o = await trial(command, world, at, templateDir)
      if (o.killed) row.killed++
      if (o.completed) row.completed++
      if (o.checkOk) row.checks++
      row.lost += o.lost
      row.wrong += o.wrong
      if (o.problem != null) problems.push(`kill at ${at} ms: ${o.problem}`)
      process.stdout.write('.')
    }
    process.stdout.write('\n')
    rows.push(row)
    if (problems.length > 0) { failed++; for (const p of problems.slice(0, 5)) console.log(`  ${command}: ${p}`) }
    await rm(base, { recursive: true, force: true })
  }
  return failed
}

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const root = await mkdtemp(join(tmpdir(), 'holdfast-trials-'))
  const on = args.on === 'both' ? ['dirs', 'daemons'] : [args.on]
  console.log(`crash trials: ${args.points} kill points per command${args.on !== 'dirs' ? ` on ${on.join(' and ')}` : ''}, seed ${args.seed}, in ${root}`)
  const started = Date.now()
  const rows: Row[] = []
  let failed = 0
  try {
    // each mode draws its kill moments from its own generator: `--on daemons --seed S` replays the daemons of `--on both --seed S`
    if (on.includes('dirs')) failed += await runDirs(args, prng(args.seed), root, rows)
    if (on.includes('daemons')) failed += await runDaemons(args, prng(args.seed), root, rows)
  } catch (err) {
    failed++
    console.error(err)
  } finally {
    if (process.env.HOLDFAST_TRIALS_KEEP !== '1' || failed === 0) await rm(root, { recursive: true, force: true })
  }
  const withOn = args.on !== 'dirs'
  console.log('')
  console.log(`| ${withOn ? 'on | ' : ''}command | trials | killed mid-run | next run completed | check --read-data ok | snapshots lost | wrong bytes |`)
  console.log(`| ${withOn ? '--- | ' : ''}--- | --- | --- | --- | --- | --- | --- |`)
  for (const r of rows) console.log(`| ${withOn ? `${r.on} | ` : ''}${r.command} | ${r.trials} | ${r.killed} | ${r.completed} | ${r.checks} | ${r.lost} | ${r.wrong} |`)
  if (withOn) console.log(`\n${((Date.now() - started) / 60_000).toFixed(1)} min`)
  if (failed > 0) process.exitCode = 1
}

main().catch(err => { console.error(err); process.exitCode = 1 })
