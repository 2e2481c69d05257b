import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { placeShards } from '../../src/placement/rendezvous.js'

const PACKS = 2000
const packIds = Array.from({ length: PACKS }, () => randomBytes(32).toString('hex'))
const stores = (count: number, prefix = 'dir:/srv/disk'): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`)

function shuffled<T> (xs: readonly T[]): T[] {
  const out = [...xs]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

function throwsNamed (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

describe('placement/rendezvous', () => {
  it('returns n distinct stores from the given list', () => {
    const all = stores(8)
    for (const n of [1, 3, 6, 8]) {
      for (const id of packIds) {
        const placed = placeShards(id, n, all)
        assert.equal(placed.length, n)
        assert.equal(new Set(placed).size, n)
        for (const s of placed) assert.ok(all.includes(s), s)
      }
    }
  })

  it('is stable: the same answer twice, whatever the order of the store list', () => {
    const all = stores(10)
    for (const id of packIds) {
      const a = placeShards(id, 6, all)
      assert.deepEqual(placeShards(id, 6, all), a)
      assert.deepEqual(placeShards(id, 6, shuffled(all)), a)
      assert.deepEqual(placeShards(id, 6, [...all].reverse()), a)
    }
  })

  it('ignores duplicate store ids', () => {
    const all = stores(6)
    for (const id of packIds.slice(0, 200)) {
      const placed = placeShards(id, 6, [...all, ...all.slice(0, 3)])
      assert.equal(new Set(placed).size, 6)
      assert.deepEqual(placed, placeShards(id, 6, all))
    }
  })

  it('depends on the pack id', () => {
    const all = stores(10)
    const distinct = new Set(packIds.slice(0, 100).map(id => placeShards(id, 6, all).join('|')))
    assert.ok(distinct.size > 90, `${distinct.size} distinct placements of 100 packs`)
  })

  it('fewer distinct stores than n -> PlacementError', () => {
    throwsNamed(() => placeShards(packIds[0], 6, stores(5)), 'PlacementError')
    throwsNamed(() => placeShards(packIds[0], 1, []), 'PlacementError')
    throwsNamed(() => placeShards(packIds[0], 3, ['a', 'a', 'b', 'b']), 'PlacementError')
    assert.equal(placeShards(packIds[0], 6, stores(6)).length, 6)
    assert.deepEqual(placeShards(packIds[0], 0, stores(3)), [])
  })

  it('adding one store changes the chosen set only by bringing in the new store', () => {
    const before = stores(8)
    const added = 'dir:/srv/new-disk'
    const after = [...before, added]
    let gained = 0
    for (const id of packIds) {
      const a = new Set(placeShards(id, 6, before))
      const b = new Set(placeShards(id, 6, after))
      const left = [...a].filter(s => !b.has(s))
      const entered = [...b].filter(s => !a.has(s))
      if (entered.length === 0) {
        assert.equal(left.length, 0)
      } else {
        assert.deepEqual(entered, [added])
        assert.equal(left.length, 1)
        gained++
      }
    }
    // the new store wins about 6/9 of the packs
    const fair = PACKS * 6 / 9
    assert.ok(gained > fair * 0.8 && gained < fair * 1.2, `new store gained ${gained} of ${PACKS} packs`)
  })

  it('removing one store changes the chosen set only for the packs it held', () => {
    const before = stores(9)
    const removed = before[4]
    const after = before.filter(s => s !== removed)
    for (const id of packIds) {
      const a = new Set(placeShards(id, 6, before))
      const b = new Set(placeShards(id, 6, after))
      const left = [...a].filter(s => !b.has(s))
      const entered = [...b].filter(s => !a.has(s))
      if (a.has(removed)) {
        assert.deepEqual(left, [removed])
        assert.equal(entered.length, 1)
      } else {
        assert.deepEqual(left, [])
        assert.deepEqual(entered, [])
      }
    }
  })

  it('balances load: each of 8 stores gets 0.5x..1.5x its fair share (n = 6)', () => {
    const all = stores(8)
    const counts = new Map(all.map(s => [s, 0]))
    for (const id of packIds) for (const s of placeShards(id, 6, all)) counts.set(s, counts.get(s)! + 1)
    const fair = PACKS * 6 / 8
    for (const [s, c] of counts) assert.ok(c >= 0.5 * fair && c <= 1.5 * fair, `${s}: ${c} shards, fair share ${fair}`)
    // and shard position 0 (a data shard) is spread too
    const first = new Map(all.map(s => [s, 0]))
    for (const id of packIds) { const s = placeShards(id, 6, all)[0]; first.set(s, first.get(s)! + 1) }
    for (const [s, c] of first) assert.ok(c >= 0.5 * PACKS / 8 && c <= 1.5 * PACKS / 8, `${s}: first shard of ${c} packs`)
  })
})
