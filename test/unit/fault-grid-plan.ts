import type { FaultSettings } from '../../src/store/faults/index.js'
import { seededRandom, type SeededRandom } from './seeded-random.js'

/**
 * The fault grid's scenarios, drawn from a seed (pure: no I/O). A scenario is an erasure code over a few
 * stores, a class, and a sequence of steps: fault changes on some stores, then one operation.
 *
 * Classes: 'survive' keeps at most m stores broken at any time, a store that ever lost data (lost writes,
 * wipe) counting as broken for the rest of the scenario: every kept snapshot must restore exactly.
 * 'beyond' lets up to m + 2 stores break: a restore may then fail, but only with PackUnrecoverableError
 * naming a pack that the faults alone left with fewer than k shards.
 */
export type OpName = 'backup' | 'forget' | 'prune' | 'repair' | 'rebuild-index' | 'restore' | 'reopen'

export type ProbabilityFault = keyof FaultSettings

export type FaultChange =
  /** switch a fault on with this probability per call, now or after `afterCalls` more calls to the store (mid-operation) */
  | { store: number, type: 'set', fault: ProbabilityFault, p: number, afterCalls?: number }
  /** go offline, as of `agoMs` ago (past the repair grace of 3 days: its shards are regenerated elsewhere) */
  | { store: number, type: 'offline', agoMs: number, afterCalls?: number }
  /** every fault off, back online (what was lost stays lost) */
  | { store: number, type: 'heal' }
  /** the store loses everything it holds */
  | { store: number, type: 'wipe' }

export interface Step {
  changes: FaultChange[]
  op: OpName
  /** a random number for the operation's choices (which snapshot, which edit, the repack threshold) */
  arg: number
}

export interface Plan {
  seed: number
  k: number
  m: number
  /** stores */
  n: number
  backend: 'memory' | 'directory'
  survive: boolean
  steps: Step[]
}

const CODES: Array<[number, number]> = [[2, 1], [3, 2], [4, 2]]
const DAY = 24 * 3600_000

const FAULTS: Array<[ProbabilityFault | 'offline' | 'wipe', number]> = [
  ['fail', 14], ['hang', 5], ['corruptRead', 12], ['wrongObject', 10], ['garbageList', 8], ['endlessList', 4],
  ['offline', 18], ['loseWrites', 14], ['wipe', 8]
]
const PROBABILITIES: Record<ProbabilityFault, number[]> = {
  fail: [1, 0.3], hang: [1, 0.3], corruptRead: [1, 0.5], wrongObject: [1, 0.5], garbageList: [1], endlessList: [1], loseWrites: [1, 0.5]
}
const OPS: Array<[OpName, number]> = [
  ['backup', 28], ['forget', 12], ['prune', 16], ['repair', 14], ['rebuild-index', 12], ['restore', 10], ['reopen', 8]
]

function weighted<T> (r: SeededRandom, table: Array<[T, number]>): T {
  let x = r.below(table.reduce((n, [, w]) => n + w, 0))
  for (const [v, w] of table) { if (x < w) return v; x -= w }
  return table[table.length - 1][0]
}

function pick<T> (r: SeededRandom, list: readonly T[]): T {
  return list[r.below(list.length)]
}

export function makePlan (seed: number): Plan {
  const r = seededRandom(seed)
  const [k, m] = pick(r, CODES)
  const low = Math.max(5, k + m)
  const n = low + r.below(8 - low + 1)
  const backend = r.next() < 0.2 ? 'directory' : 'memory'
  const survive = r.next() < 0.7
  const limit = survive ? m : Math.min(n - 1, m + 1 + r.below(2))
  const transient = new Set<number>()
  const damaged = new Set<number>()
  const steps: Step[] = []
  const count = 4 + r.below(4)
  for (let i = 0; i <= count; i++) {
    const changes: FaultChange[] = []
    for (const s of [...transient].sort((a, b) => a - b)) {
      if (r.next() < 0.5) { changes.push({ store: s, type: 'heal' }); transient.delete(s) }
    }
    const events = r.below(3)
    for (let e = 0; e < events; e++) {
      const fault = weighted(r, FAULTS)
      const broken = new Set([...transient, ...damaged])
      const candidates = Array.from({ length: n }, (_, s) => s).filter(s => broken.has(s) || broken.size < limit)
      if (candidates.length === 0) continue
      const store = pick(r, candidates)
      const afterCalls = r.next() < 0.3 ? 1 + r.below(40) : undefined
      if (fault === 'wipe') {
        damaged.add(store)
        changes.push({ store, type: 'wipe' })
      } else if (fault === 'offline') {
        transient.add(store)
        changes.push({ store, type: 'offline', agoMs: r.next() < 0.5 ? 60_000 : 4 * DAY, ...(afterCalls != null ? { afterCalls } : {}) })
      } else {
        transient.add(store)
        if (fault === 'loseWrites') damaged.add(store)
        changes.push({ store, type: 'set', fault, p: pick(r, PROBABILITIES[fault]), ...(afterCalls != null ? { afterCalls } : {}) })
      }
    }
    steps.push({ changes, op: i === 0 ? 'backup' : weighted(r, OPS), arg: r.below(2 ** 30) })
  }
  return { seed, k, m, n, backend, survive, steps }
}

/** One line per step, for failure reports. */
export function describeChange (c: FaultChange): string {
  const when = 'afterCalls' in c && c.afterCalls != null ? ` after ${c.afterCalls} calls` : ''
  switch (c.type) {
    case 'set': return `store ${c.store}: ${c.fault} p=${c.p}${when}`
    case 'offline': return `store ${c.store}: offline (since ${c.agoMs >= DAY ? `${c.agoMs / DAY} days` : `${c.agoMs / 1000} s`})${when}`
    case 'heal': return `store ${c.store}: healed`
    case 'wipe': return `store ${c.store}: wiped`
  }
}
