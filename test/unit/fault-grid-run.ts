import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import * as errors from '../../src/errors.js'
import { parseKeyFile, unlockKeyFile, type RepositoryKeys } from '../../src/crypto/keys.js'
import { homePaths } from '../../src/home/home.js'
import { Repository } from '../../src/repository/repository.js'
import type { PackDescriptor, Tree } from '../../src/format/format.js'
import { backup } from '../../src/backup/index.js'
import { restore } from '../../src/restore/index.js'
import { forgetSnapshot, prune } from '../../src/prune/index.js'
import { auditRound, repairRound } from '../../src/maintenance/index.js'
import { DirectoryStore, MemoryStore, type ShardStore } from '../../src/store/index.js'
import { FaultStore } from '../../src/store/faults/index.js'
import { describeChange, type FaultChange, type OpName, type Plan } from './fault-grid-plan.js'
import { seededRandom, type SeededRandom } from './seeded-random.js'

/**
 * Runs one fault-grid scenario (see fault-grid-plan.ts) in this process: a real Repository (LevelDB
 * register in a temporary home) over memory or directory stores, each wrapped in a FaultStore; then
 * checks the invariants with every transient fault off:
 * 1. every kept snapshot (backed up successfully, never forgotten) restores byte for byte, or fails with
 *    PackUnrecoverableError naming a pack that the faults alone (lost writes, wipes) left with fewer than
 *    k shards; a restore never gives a wrong byte, during the faults either;
 * 2. no blob a kept snapshot needs was lost by a deletion: a blob that the stores would still hold in k
 *    shards of some pack had nobody deleted anything must still be held so;
 * 3. operations fail only with named errors, stop at their deadline, and pass their signal to the stores.
 */
export interface Template { home: string, keys: RepositoryKeys }

export interface ScenarioResult {
  plan: Plan
  log: string[]
  failures: string[]
  /** kept snapshots that restored exactly, and that failed with a justified PackUnrecoverableError */
  restored: number
  unrecoverable: number
}

const PASSPHRASE = 'grid'
const PACK_SIZE = 64 * 1024
/** An operation's deadline when a store hangs or lists without end (each hang costs this much). */
const SHORT_DEADLINE_MS = 600
const LONG_DEADLINE_MS = 30_000
/** How long past its deadline an operation may take to stop. */
const STOP_SLACK_MS = 4_000

const NAMED = new Set<string>([...Object.values(errors).map(c => (c as { name: string }).name), 'AbortError', 'TimeoutError'])

/** A repository home made once per erasure code (the key derivation is slow) and copied for each scenario. */
export async function makeTemplate (root: string, k: number, m: number): Promise<Template> {
  const home = join(root, `home-${k}-${m}`)
  const stores = Array.from({ length: k + m }, (_, i) => `dir:${join(root, `tpl-${k}-${m}-store-${i}`)}`)
  await Repository.init({ home, stores, passphrase: PASSPHRASE, k, m, packSize: PACK_SIZE })
  const keys = await unlockKeyFile(parseKeyFile(await readFile(homePaths(home).key)), PASSPHRASE)
  return { home, keys }
}

interface Kept {
  name: string
  files: Map<string, Buffer>
  blobs: Set<string>
  /** the step that made it */
  step: number
}

type Outcome = { ok: true, value: unknown } | { ok: false, error: Error }

export async function runScenario (plan: Plan, template: Template): Promise<ScenarioResult> {
  const root = await mkdtemp(join(tmpdir(), 'holdfast-grid-'))
  const grid = new Grid(plan, template, root)
  try {
    await grid.run()
  } catch (err) {
    grid.failures.push(`the scenario itself failed: ${(err as Error).stack ?? String(err)}`)
  } finally {
    await grid.close()
    await rm(root, { recursive: true, force: true })
  }
  return { plan, log: grid.log, failures: grid.failures, restored: grid.restored, unrecoverable: grid.unrecoverable }
}

class Grid {
  readonly log: string[] = []
  readonly failures: string[] = []
  restored = 0
  unrecoverable = 0
  private readonly stores: FaultStore[] = []
  private readonly data: SeededRandom
  private readonly home: string
  private readonly src: string
  private repo?: Repository
  private readonly model = new Map<string, Buffer>()
  private readonly kept: Kept[] = []
  /** every pack descriptor the register held at any operation's end */
  private readonly packs = new Map<string, PackDescriptor>()
  private readonly trees = new Map<string, Tree>()
  /** deletes asked of the stores, by step */
  private readonly deletions: Array<{ step: number, op: OpName, store: number, name: string }> = []
  /** fault changes waiting for a store's nth call */
  private readonly scheduled: Array<{ store: number, calls: number, change: FaultChange }> = []
  private readonly calls: number[]
  private step = -1
  private op: OpName = 'backup'
  private mtime = 1_600_000_000
  private restores = 0

  constructor (private readonly plan: Plan, private readonly template: Template, private readonly root: string) {
    this.data = seededRandom(plan.seed ^ 0x5bd1e995)
    this.home = join(root, 'home')
    this.src = join(root, 'src')
    this.calls = new Array(plan.n).fill(0)
  }

  async run (): Promise<void> {
    const { plan } = this
    await cp(this.template.home, this.home, { recursive: true })
    for (let i = 0; i < plan.n; i++) {
      const inner: ShardStore = plan.backend === 'memory'
        ? new MemoryStore(`mem:grid-${i}`)
        : await DirectoryStore.create(join(this.root, `store-${i}`), { durable: false })
      const store = new FaultStore(inner, { random: seededRandom(plan.seed * 131 + i + 1).next })
      store.onCall = (method, kind, name) => { this.onCall(i, method, kind, name) }
      this.stores.push(store)
    }
    await this.writeTree()
    this.log.push(`seed ${plan.seed}: ${plan.k}+${plan.m} over ${plan.n} ${plan.backend} stores, class ${plan.survive ? 'survive (at most m broken)' : 'beyond (more than m may break)'}`)
    for (const [i, step] of plan.steps.entries()) {
      this.step = i
      this.op = step.op
      for (const c of step.changes) {
        if ('afterCalls' in c && c.afterCalls != null) this.scheduled.push({ store: c.store, calls: this.calls[c.store] + c.afterCalls, change: c })
        else await this.apply(c)
      }
      const faults = step.changes.map(describeChange).join(', ')
      const outcome = await this.operate(step.op, step.arg)
      this.log.push(`step ${i}: ${faults !== '' ? `[${faults}] ` : ''}${step.op}: ${outcome}`)
      if (this.repo != null) for await (const d of this.repo.register.packDescriptors()) this.packs.set(d.id, d)
      if (this.failures.length > 0 && this.failures.some(f => f.startsWith('STUCK'))) return
    }
    await this.finalCheck()
  }

  async close (): Promise<void> {
    for (const s of this.stores) s.heal()
    await this.repo?.close().catch(() => {})
    this.repo = undefined
  }

  // ---- faults ----

  private onCall (store: number, method: string, kind: string | undefined, name: string | undefined): void {
    this.calls[store]++
    if ((method === 'delete' || method === 'quarantine') && kind === 'shard' && name != null) this.deletions.push({ step: this.step, op: this.op, store, name })
    for (let i = 0; i < this.scheduled.length; i++) {
      const s = this.scheduled[i]
      if (s.store === store && this.calls[store] >= s.calls) {
        this.scheduled.splice(i--, 1)
        void this.apply(s.change)
      }
    }
  }

  private async apply (c: FaultChange): Promise<void> {
    const store = this.stores[c.store]
    switch (c.type) {
      case 'set': store.faults[c.fault] = c.p; break
      case 'offline': store.goOffline(Date.now() - c.agoMs); break
      case 'heal': store.heal(); this.scheduled.splice(0, this.scheduled.length, ...this.scheduled.filter(s => s.store !== c.store)); break
      case 'wipe': await store.wipe(); break
    }
  }

  private hanging (): boolean {
    const now = this.stores.some(s => s.faults.hang > 0 || s.faults.endlessList > 0)
    return now || this.scheduled.some(s => s.change.type === 'set' && (s.change.fault === 'hang' || s.change.fault === 'endlessList'))
  }

  /** Runs `fn` with every fault off (the oracle's own reads), then puts the faults back. */
  private async faultsOff<T> (fn: () => Promise<T>): Promise<T> {
    const saved = this.stores.map(s => ({ faults: { ...s.faults }, offline: s.offline ? s.offlineSince() : undefined }))
    const scheduled = this.scheduled.splice(0)
    for (const s of this.stores) s.heal()
    try {
      return await fn()
    } finally {
      this.stores.forEach((s, i) => {
        Object.assign(s.faults, saved[i].faults)
        if (saved[i].offline != null) s.goOffline(saved[i].offline)
      })
      this.scheduled.push(...scheduled)
    }
  }

  // ---- operations ----

  /** Runs one operation under a deadline; returns a line for the log. */
  private async operate (op: OpName, arg: number): Promise<string> {
    const deadline = this.hanging() ? SHORT_DEADLINE_MS : LONG_DEADLINE_MS
    const signal = AbortSignal.timeout(deadline)
    const before = this.stores.map(s => s.hangsWithoutSignal)
    let note = ''
    const run = async (): Promise<unknown> => {
      // like every CLI command: open the repository (which rebuilds a register left unbuilt)
      if (this.repo == null || !await this.repo.register.isBuilt()) await this.reopen(signal)
      const repo = this.repo!
      switch (op) {
        case 'backup': {
          if (this.step > 0) note = await this.edit(arg)
          const res = await backup(repo, [this.src], { signal, hostname: 'grid' })
          const blobs = await this.faultsOff(async () => await this.neededBlobs(res.snapshot.tree))
          this.kept.push({ name: res.name, files: new Map(this.model), blobs, step: this.step })
          return `snapshot ${res.name.slice(0, 8)}`
        }
        case 'forget': {
          if (this.kept.length === 0) return 'nothing to forget'
          // a snapshot asked to be forgotten is no longer kept, whether or not the forget completes
          const [gone] = this.kept.splice(arg % this.kept.length, 1)
          note = `snapshot ${gone.name.slice(0, 8)} of step ${gone.step}`
          return await forgetSnapshot(repo, gone.name, { signal })
        }
        case 'prune': {
          // now and then the orphan grace has run out (0): shards no record accounts for are deleted at once
          const grace = arg % 3 === 0 ? 0 : undefined
          if (grace === 0) note = 'orphan grace over'
          return await prune(repo, { signal, repackUnused: arg % 2 === 0 ? 0 : 0.2, orphanGraceMs: grace })
        }
        case 'repair': {
          const audit = await auditRound(repo, { signal })
          const repair = await repairRound(repo, { signal })
          return { problems: audit.problems.length, needed: repair.needed, repaired: repair.repaired.map(r => r.placed.length), failed: repair.failed.length, unrecoverable: repair.unrecoverable.length }
        }
        case 'rebuild-index': return await repo.rebuildIndex({ signal })
        case 'restore': {
          if (this.kept.length === 0) return 'nothing to restore'
          const snap = this.kept[arg % this.kept.length]
          note = `snapshot ${snap.name.slice(0, 8)} of step ${snap.step}`
          return await this.restoreAndCompare(snap, signal, false)
        }
        case 'reopen': await this.reopen(signal); return 'reopened'
      }
    }
    const settled = run().then((value): Outcome => ({ ok: true, value }), (error: Error): Outcome => ({ ok: false, error }))
    let outcome = await within(settled, deadline + STOP_SLACK_MS)
    if (outcome == null) {
      this.failures.push(`${op} at step ${this.step} did not stop within ${STOP_SLACK_MS} ms of its ${deadline} ms deadline (a store call without the signal, or a wait that ignores it)`)
      for (const s of this.stores) s.releaseHangs()
      outcome = await within(settled, 10_000)
      if (outcome == null) { this.failures.push(`STUCK: ${op} at step ${this.step} still running after its stores released every hang`); return 'stuck' }
    }
    const unsignalled = this.stores.map((s, i) => s.hangsWithoutSignal - before[i]).reduce((a, b) => a + b, 0)
    if (unsignalled > 0) this.failures.push(`${op} at step ${this.step} called a hanging store without an AbortSignal ${unsignalled} time(s)`)
    const prefix = note !== '' ? `${note}: ` : ''
    if (outcome.ok) return `${prefix}ok ${summarize(outcome.value)}`
    const e = outcome.error
    if (!NAMED.has(e.name)) this.failures.push(`${op} at step ${this.step} failed with an unnamed error: ${e.name}: ${e.message}\n${e.stack ?? ''}`)
    return `${prefix}${e.name}: ${e.message.slice(0, 300)}`
  }

  private async reopen (signal?: AbortSignal): Promise<void> {
    const old = this.repo
    this.repo = undefined
    await old?.close()
    const keys = this.template.keys
    this.repo = await Repository.open(this.home, PASSPHRASE, { signal, stores: this.stores, unlock: async () => keys })
  }

  // ---- the files ----

  private async writeTree (): Promise<void> {
    const count = 3 + this.data.below(4)
    for (let i = 0; i < count; i++) {
      const path = i % 2 === 0 ? `f${i}.bin` : `sub/f${i}.bin`
      this.model.set(path, this.content())
    }
    for (const [path, bytes] of this.model) await this.writeFile(path, bytes)
  }

  /** Some content: new random bytes of up to ~100 KiB (now and then 600 KiB, two chunks), or a copy of a file (dedup). */
  private content (): Buffer {
    const others = [...this.model.values()]
    const r = this.data.next()
    if (others.length > 0 && r < 0.25) return others[this.data.below(others.length)]
    const size = r < 0.3 ? this.data.below(2048) : r < 0.93 ? this.data.below(100 * 1024) : 600 * 1024 + this.data.below(4096)
    return Buffer.from(this.data.bytes(size))
  }

  private async writeFile (path: string, bytes: Buffer): Promise<void> {
    const full = join(this.src, path)
    await mkdir(join(full, '..'), { recursive: true })
    await writeFile(full, bytes)
    // a distinct mtime for every write: a change within the same clock tick must not pass as unchanged
    this.mtime += 7
    await utimes(full, this.mtime, this.mtime)
  }

  /** Changes the tree before a later backup: a file changed, added or removed. */
  private async edit (arg: number): Promise<string> {
    const paths = [...this.model.keys()].sort()
    const what = arg % 3
    if (what === 0 || paths.length <= 1) {
      const path = `${arg % 2 === 0 ? '' : 'sub/'}n${this.step}.bin`
      const bytes = this.content()
      this.model.set(path, bytes)
      await this.writeFile(path, bytes)
      return `added ${path}`
    }
    const path = paths[arg % paths.length]
    if (what === 1) {
      const bytes = this.content()
      this.model.set(path, bytes)
      await this.writeFile(path, bytes)
      return `changed ${path}`
    }
    this.model.delete(path)
    await rm(join(this.src, path))
    return `removed ${path}`
  }

  // ---- the oracle ----

  /** Every blob a snapshot needs: its trees and its files' chunks. */
  private async neededBlobs (root: string): Promise<Set<string>> {
    const repo = this.repo!
    const out = new Set<string>()
    const stack = [root]
    while (stack.length > 0) {
      const id = stack.pop()!
      if (out.has(id)) continue
      out.add(id)
      let tree = this.trees.get(id) ?? await repo.register.getTree(id)
      tree ??= await repo.loadTree(id, { signal: AbortSignal.timeout(LONG_DEADLINE_MS) })
      this.trees.set(id, tree)
      for (const node of tree.nodes) {
        if (node.subtree != null) stack.push(node.subtree)
        for (const c of node.content ?? []) out.add(c)
      }
    }
    return out
  }

  /**
   * Restores a kept snapshot and compares: a restored file must be byte-identical, and nothing else may
   * appear. `final`: the faults are off, so a file not restored must be justified (see justified()).
   * Returns a summary.
   */
  private async restoreAndCompare (snap: Kept, signal: AbortSignal, final: boolean): Promise<string> {
    const repo = this.repo!
    const target = join(this.root, `restore-${this.restores++}`)
    const record = (await repo.register.snapshots()).find(s => s.name === snap.name)
    if (record == null) {
      if (final && !this.recordTrulyGone(snap.name)) this.failures.push(`kept snapshot ${snap.name.slice(0, 8)} (step ${snap.step}) is missing from the register, though its record is still on the stores`)
      return 'not in the register'
    }
    let thrown: Error | undefined
    let failed: Array<{ path: string, reason: string, error?: string }> = []
    try {
      failed = (await restore(repo, record.snapshot.tree, target, { signal })).failed
    } catch (err) {
      thrown = err as Error
    }
    const base = join(target, this.src)
    const found = await listFiles(base)
    const failedPaths = new Set(failed.map(f => f.path.slice(this.src.length + 1)))
    for (const path of found) {
      const expected = snap.files.get(path)
      if (expected == null) { this.failures.push(`restore of ${snap.name.slice(0, 8)} at step ${this.step} made a file that is not in the snapshot: ${path}`); continue }
      if (!expected.equals(await readFile(join(base, path)))) this.failures.push(`restore of ${snap.name.slice(0, 8)} at step ${this.step} wrote WRONG BYTES to ${path}`)
    }
    await rm(target, { recursive: true, force: true })
    if (thrown != null) {
      if (thrown.name === 'AbortedError' && !final) return `${thrown.name}: ${thrown.message.slice(0, 200)}`
      if (final && !this.justified(thrown.name, thrown.message)) this.failures.push(`final restore of kept snapshot ${snap.name.slice(0, 8)} (step ${snap.step}) failed: ${thrown.name}: ${thrown.message}`)
      if (final && this.justified(thrown.name, thrown.message)) this.unrecoverable++
      if (!NAMED.has(thrown.name)) this.failures.push(`restore threw an unnamed error: ${thrown.stack ?? thrown.message}`)
      return `${thrown.name}: ${thrown.message.slice(0, 200)}`
    }
    const foundSet = new Set(found)
    for (const path of snap.files.keys()) {
      if (!foundSet.has(path) && !failedPaths.has(path)) this.failures.push(`restore of ${snap.name.slice(0, 8)} at step ${this.step} neither restored nor reported ${path}`)
    }
    if (final) {
      const bad = failed.filter(f => !this.justified(f.error ?? 'unnamed', f.reason))
      for (const f of bad) this.failures.push(`final restore of kept snapshot ${snap.name.slice(0, 8)} (step ${snap.step}) did not restore ${f.path}: ${f.error ?? 'unnamed'}: ${f.reason}`)
      if (failed.length === 0) this.restored++
      else if (bad.length === 0) this.unrecoverable++
    }
    return failed.length === 0 ? `restored ${found.length} files` : `${failed.length} files not restored: ${failed[0].error ?? ''} ${failed[0].reason.slice(0, 200)}`
  }

  /** Shard names present now, and those the ledgers say would be present had nobody deleted anything. */
  private async holdings (): Promise<{ actual: Set<string>, ledger: Set<string> }> {
    const actual = new Set<string>()
    const ledger = new Set<string>()
    for (const s of this.stores) {
      for await (const name of s.inner.list('shard')) actual.add(name)
      for (const key of s.ledger) if (key.startsWith('shard/')) ledger.add(key.slice(6))
    }
    return { actual, ledger }
  }

  private alive (desc: PackDescriptor, has: Set<string>): boolean {
    const indices = desc.shards.filter(s => has.has(s.name)).length
    return indices >= desc.k
  }

  private ledgerShards?: Set<string>

  /** PackUnrecoverableError naming a pack that the faults alone (lost writes, wipes) left below k shards. */
  private justified (name: string, message: string): boolean {
    if (name !== 'PackUnrecoverableError' || this.ledgerShards == null) return false
    const m = /pack ([0-9a-f]{12})/.exec(message)
    if (m == null) return false
    const packs = [...this.packs.values()].filter(d => d.id.startsWith(m[1]))
    return packs.length > 0 && packs.every(d => !this.alive(d, this.ledgerShards!))
  }

  private recordTrulyGone (name: string): boolean {
    return this.stores.every(s => !s.ledger.has(`snapshot/${name}`))
  }

  private async finalCheck (): Promise<void> {
    for (const s of this.stores) { s.heal(); s.releaseHangs() }
    this.scheduled.length = 0
    const { actual, ledger } = await this.holdings()
    this.ledgerShards = ledger
    this.step = this.plan.steps.length
    this.op = 'restore'
    try {
      await this.reopen(AbortSignal.timeout(LONG_DEADLINE_MS))
    } catch (err) {
      const e = err as Error
      if (this.justified(e.name, e.message)) { this.unrecoverable += this.kept.length; this.log.push(`final: the repository does not open: ${e.name}: ${e.message.slice(0, 200)}`) } else this.failures.push(`final: the repository does not open with every fault off: ${e.name}: ${e.message}`)
    }
    if (this.repo != null) for await (const d of this.repo.register.packDescriptors()) this.packs.set(d.id, d)
    // 2. no blob a kept snapshot needs was lost by a deletion
    const byBlob = new Map<string, PackDescriptor[]>()
    for (const d of this.packs.values()) for (const b of d.blobs) byBlob.set(b[1], [...(byBlob.get(b[1]) ?? []), d])
    for (const snap of this.kept) {
      if (this.recordTrulyGone(snap.name)) continue
      for (const blob of snap.blobs) {
        const packs = byBlob.get(blob) ?? []
        if (packs.length === 0) { this.failures.push(`blob ${blob.slice(0, 12)} of kept snapshot ${snap.name.slice(0, 8)} is in no pack the register ever knew`); continue }
        if (packs.some(d => this.alive(d, ledger)) && !packs.some(d => this.alive(d, actual))) {
          const names = new Set(packs.flatMap(d => d.shards.map(s => s.name)))
          const by = this.deletions.filter(d => names.has(d.name)).map(d => `step ${d.step} ${d.op} on store ${d.store}`)
          this.failures.push(`DATA LOST BY DELETION: blob ${blob.slice(0, 12)} of kept snapshot ${snap.name.slice(0, 8)} (step ${snap.step}), in pack(s) ${packs.map(d => d.id.slice(0, 12)).join(', ')}, has fewer than k shards left, though the faults alone left k; its shards were deleted by: ${[...new Set(by)].join('; ') || 'nobody (?)'}`)
        }
      }
    }
    // 1. every kept snapshot restores exactly, or fails with a justified PackUnrecoverableError
    if (this.repo == null) return
    for (const snap of this.kept) {
      const line = await this.restoreAndCompare(snap, AbortSignal.timeout(LONG_DEADLINE_MS), true)
      this.log.push(`final: snapshot ${snap.name.slice(0, 8)} (step ${snap.step}): ${line}`)
    }
  }
}

/** What `p` settles to, or undefined when it takes longer than `ms` (the timer does not outlive the race). */
async function within<T> (p: Promise<T>, ms: number): Promise<T | undefined> {
  const timer = new AbortController()
  try {
    return await Promise.race([p, sleep(ms, undefined, { signal: timer.signal })])
  } finally {
    timer.abort()
  }
}

async function listFiles (base: string, prefix = ''): Promise<string[]> {
  let entries
  try { entries = await readdir(join(base, prefix), { withFileTypes: true }) } catch { return [] }
  const out: string[] = []
  for (const e of entries) {
    const rel = prefix === '' ? e.name : `${prefix}/${e.name}`
    if (e.isDirectory()) out.push(...await listFiles(base, rel))
    else out.push(rel)
  }
  return out
}

function summarize (value: unknown): string {
  if (value == null || typeof value === 'string') return value ?? ''
  const text = JSON.stringify(value)
  return text.length > 240 ? text.slice(0, 240) + '...' : text
}
