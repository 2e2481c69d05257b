import assert from 'node:assert/strict'
import { fairShares, systematicSample } from '../../src/placement/index.js'

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} is not ${b}`)

describe('placement/fairShares', () => {
  it('in proportion to weight when nothing is capped; the shares sum to what is placed', () => {
    const s = fairShares([{ id: 'a', site: 'a', weight: 1 }, { id: 'b', site: 'b', weight: 2 }, { id: 'c', site: 'c', weight: 3 }, { id: 'd', site: 'd', weight: 4 }], 2, () => 1)!
    close(s.get('a')!, 0.2, 'a')
    close(s.get('d')!, 0.8, 'd')
    close([...s.values()].reduce((x, y) => x + y, 0), 2, 'sum')
  })

  it('a peer takes at most one shard of a pack: what a heavy peer cannot take goes to the others by weight', () => {
    const s = fairShares([{ id: 'heavy', site: 'h', weight: 100 }, { id: 'a', site: 'a', weight: 1 }, { id: 'b', site: 'b', weight: 3 }], 2, () => 1)!
    close(s.get('heavy')!, 1, 'heavy')
    close(s.get('a')!, 0.25, 'a')
    close(s.get('b')!, 0.75, 'b')
  })

  it('a site takes at most its cap, its peers in proportion among themselves; the rest goes elsewhere', () => {
    const peers = [
      { id: 'o1', site: 'office', weight: 1 }, { id: 'o2', site: 'office', weight: 1 }, { id: 'o3', site: 'office', weight: 2 },
      { id: 'h1', site: 'h1', weight: 1 }, { id: 'h2', site: 'h2', weight: 1 }
    ]
    const s = fairShares(peers, 3, site => site === 'office' ? 1 : 1)!
    close(s.get('o1')! + s.get('o2')! + s.get('o3')!, 1, 'the office at its cap')
    close(s.get('o3')!, 2 * s.get('o1')!, 'o3 has twice o1\'s share')
    close(s.get('h1')!, 1, 'h1')
    // a site that already holds shards of the pack has less room
    assert.equal(fairShares(peers, 3, site => site === 'office' ? 0 : 1), undefined)
  })

  it('undefined when the rules leave too little room; zero-weight peers get nothing', () => {
    assert.equal(fairShares([{ id: 'a', site: 's', weight: 1 }, { id: 'b', site: 's', weight: 1 }], 2, () => 1), undefined)
    const s = fairShares([{ id: 'a', site: 'a', weight: 0 }, { id: 'b', site: 'b', weight: 1 }], 1, () => 1)!
    assert.equal(s.has('a'), false)
    close(s.get('b')!, 1, 'b')
  })
})

describe('placement/systematicSample', () => {
  it('takes exactly the count, each unit at most once, and a run of units summing to S gets floor or ceil of S', () => {
    const shares = [0.5, 0.5, 0.25, 0.75, 1, 0.3, 0.7]
    for (let start = 0; start < 1; start += 0.01) {
      const taken = systematicSample(shares, 4, start)
      assert.equal(taken.length, 4)
      assert.equal(new Set(taken).size, 4)
      assert.ok(taken.includes(4), 'a share of 1 is always taken')
      const firstTwo = taken.filter(i => i < 2).length
      assert.equal(firstTwo, 1, 'units 0 and 1 sum to 1: exactly one of them')
    }
  })

  it('each unit is taken with its share as its chance, over the starts', () => {
    const shares = [0.1, 0.9, 0.45, 0.55, 0.6, 0.4]
    const count = shares.map(() => 0)
    const steps = 10_000
    for (let i = 0; i < steps; i++) for (const t of systematicSample(shares, 3, (i + 0.5) / steps)) count[t]++
    shares.forEach((p, i) => assert.ok(Math.abs(count[i] / steps - p) < 1e-3, `unit ${i}: ${count[i] / steps} for ${p}`))
  })
})
