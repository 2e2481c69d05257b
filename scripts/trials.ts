/**
 * Crash trials (`npm run trials [-- --points N] [-- --commands backup,prune] [-- --seed S]`): each of
 * backup, prune, repair, forget and rebuild-index is SIGKILLed at N random moments (50 by default) on a
 * repository of directory stores, as a power cut or an OOM kill would stop it. After each kill:
 * 1. the killed command runs again and must complete (exit 0; a forget whose snapshot is already gone
 *    counts as done);
 * 2. `check --read-data` must pass;
 * 3. every snapshot that must exist is restored and compared byte for byte with the files it was made of.
 * Expected: 0 snapshots lost, 0 wrong bytes, 0 commands that cannot complete. Prints a table.
 *
 * Each command's trials start from the same prepared repository (copied back before every trial), so the
 * kill moments spread over the command's whole run: the delay is drawn between 0 and 1.2x the time the
 * command takes when it is not killed (measured first).
 */
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { CLI, runCli, type RunResult } from './lib/cli-runner.js'
import { compareTrees } from './lib/tree-compare.js'

const PASSPHRASE = 'crash trials passphrase'
type Command = 'backup' | 'prune' | 'repair' | 'forget' | 'rebuild-index'
const ALL: Command[] = ['backup', 'prune', 'repair', 'forget', 'rebuild-index']

interface Args { points: number, commands: Command[], seed: number }

function parseArgs (argv: string[]): Args {
  const out: Args = { points: 50, commands: ALL, seed: Date.now() % 1_000_000 }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--points') out.points = Number(argv[++i])
    else if (argv[i] === '--commands') out.commands = argv[++i].split(',') as Command[]
    else if (argv[i] === '--seed') out.seed = Number(argv[++i])
    else throw new Error(`unknown argument ${argv[i]}`)
  }
  if (!Number.isInteger(out.points) || out.points < 1) throw new Error('--points must be a positive integer')
  for (const c of out.commands) if (!ALL.includes(c)) throw new Error(`unknown command ${c}`)
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
  if (!out.checkOk && out.problem == null) out.problem = `check: ${check.stderr.trim().split('\n').slice(-2).join(' / ')}`
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

async function main (): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const random = prng(args.seed)
  const root = await mkdtemp(join(tmpdir(), 'holdfast-trials-'))
  console.log(`crash trials: ${args.points} kill points per command, seed ${args.seed}, in ${root}`)
  const rows: string[] = []
  let failed = 0
  try {
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
      let killed = 0; let completed = 0; let checks = 0; let lost = 0; let wrong = 0
      const problems: string[] = []
      for (let i = 0; i < args.points; i++) {
        const at = Math.floor(random() * fullMs * 1.2)
        const o = await trial(command, world, at, templateDir)
        if (o.killed) killed++
        if (o.completed) completed++
        if (o.checkOk) checks++
        lost += o.lost
        wrong += o.wrong
        if (o.problem != null) problems.push(`kill at ${at} ms: ${o.problem}`)
        process.stdout.write('.')
      }
      process.stdout.write('\n')
      rows.push(`| ${command} | ${args.points} | ${killed} | ${completed} | ${checks} | ${lost} | ${wrong} |`)
      if (problems.length > 0) { failed++; for (const p of problems.slice(0, 5)) console.log(`  ${command}: ${p}`) }
      await rm(base, { recursive: true, force: true })
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  console.log('')
  console.log('| command | trials | killed mid-run | next run completed | check --read-data ok | snapshots lost | wrong bytes |')
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const r of rows) console.log(r)
  if (failed > 0) process.exitCode = 1
}

main().catch(err => { console.error(err); process.exitCode = 1 })
