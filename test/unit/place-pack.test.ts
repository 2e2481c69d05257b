import assert from 'node:assert/strict'
import { placePack, placePacks, siteLimitFor } from '../../src/placement/index.js'
import type { PlacementCandidate, PlacementInput, PlacementPolicy } from '../../src/placement/index.js'

const MiB = 1024 * 1024
const PACK = '0a1b2c3d4e5f' + '00'.repeat(26)
const FAIL: PlacementPolicy = { onShortfall: 'fail' }
const REDUCED: PlacementPolicy = { onShortfall: 'reduced' }

const peer = (id: string, site: string, more: Partial<PlacementCandidate> = {}): PlacementCandidate =>
  ({ id, site, freeBytes: 10_000 * MiB, reputation: 1, online: true, ...more })

const pack = (k: number, m: number, candidates: PlacementCandidate[], more: Partial<PlacementInput> = {}): PlacementInput =>
  ({ packId: PACK, k, m, shardBytes: 4 * MiB, candidates, ...more })

function throwsNamed (fn: () => unknown, name: string, message?: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    if (message !== undefined) assert.equal(err.message, message)
    return true
  })
}

function siteCounts (peers: readonly string[], candidates: readonly PlacementCandidate[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const id of peers) {
    const site = candidates.find(c => c.id === id)!.site
    out[site] = (out[site] ?? 0) + 1
  }
  return out
}

describe('placement/siteLimitFor', () => {
  it('is the even spread when that is at most m, else undefined', () => {
    assert.equal(siteLimitFor(4, 2, 3), 2)
    assert.equal(siteLimitFor(4, 2, 6), 1)
    assert.equal(siteLimitFor(4, 2, 10), 1)
    assert.equal(siteLimitFor(10, 6, 5), 4)
    assert.equal(siteLimitFor(10, 6, 3), 6)
    assert.equal(siteLimitFor(4, 2, 2), undefined) // 3 on a site, more than m
    assert.equal(siteLimitFor(4, 2, 1), undefined)
    assert.equal(siteLimitFor(3, 0, 5), undefined) // no parity: no site may hold a shard
    assert.equal(siteLimitFor(4, 2, 0), undefined)
  })
})

describe('placement/placePack', () => {
  it('places k+m shards on distinct peers, at most the even share on each site', () => {
    const candidates = ['home', 'office', 'cabin'].flatMap(site => [1, 2, 3].map(i => peer(`${site}${i}`, site)))
    const { peers, spread, reason } = placePack(pack(4, 2, candidates), FAIL)
    assert.equal(spread, 'full')
    assert.equal(reason, undefined)
    assert.equal(new Set(peers).size, 6)
    assert.deepEqual(siteCounts(peers, candidates), { home: 2, office: 2, cabin: 2 })
  })

  it('leaves the input alone', () => {
    const candidates = [peer('a', 'home'), peer('b', 'office'), peer('c', 'cabin')]
    const input = pack(2, 1, candidates, { fixed: new Map([[0, 'a']]), exclude: new Set(['x']) })
    const copy = structuredClone(input)
    placePack(input, FAIL)
    assert.deepEqual(input, copy)
  })

  it('too few usable peers: says how many are needed and why each other peer cannot take one', () => {
    const candidates = [
      peer('A', 'home'), peer('B', 'home'), peer('C', 'office'), peer('D', 'office'), peer('E', 'cabin'),
      peer('X', 'cabin', { online: false }),
      peer('Y', 'cabin', { freeBytes: 3 * MiB }),
      peer('Z', 'home', { reputation: 0 })
    ]
    const expected = 'pack 0a1b2c3d4e5f: need 6 distinct online peers with room for a 4.00 MiB shard, have 5: ' +
      'peer X offline, peer Y quota full (3.00 MiB free), peer Z disqualified (reputation 0)'
    // 'reduced' relaxes only the site rule: fewer peers than shards is always an error
    for (const policy of [FAIL, REDUCED]) throwsNamed(() => placePack(pack(4, 2, candidates), policy), 'PlacementError', expected)
    throwsNamed(() => placePack(pack(1, 0, []), FAIL), 'PlacementError',
      'pack 0a1b2c3d4e5f: need 1 distinct online peer with room for a 4.00 MiB shard, have 0: no candidate peers')
    throwsNamed(() => placePack(pack(2, 1, [peer('a', 'home'), peer('b', 'office')]), FAIL), 'PlacementError',
      'pack 0a1b2c3d4e5f: need 3 distinct online peers with room for a 4.00 MiB shard, have 2: no other candidates')
  })

  it('names ten unusable peers and counts the rest', () => {
    const candidates = Array.from({ length: 14 }, (_, i) => peer(`p${String(i).padStart(2, '0')}`, 'home', { online: false }))
    throwsNamed(() => placePack(pack(2, 1, candidates), FAIL), 'PlacementError',
      'pack 0a1b2c3d4e5f: need 3 distinct online peers with room for a 4.00 MiB shard, have 0: ' +
      Array.from({ length: 10 }, (_, i) => `peer p${String(i).padStart(2, '0')} offline`).join(', ') + ' and 4 more')
  })

  it('too few sites: fails with the reason, or places on distinct peers marked reduced', () => {
    const candidates = [peer('h1', 'home'), peer('h2', 'home'), peer('h3', 'home'), peer('h4', 'home'),
      peer('o1', 'office'), peer('o2', 'office'), peer('o3', 'office'), peer('c1', 'cabin', { online: false })]
    const reason = 'pack 0a1b2c3d4e5f: only 2 sites have usable peers (home, office); no usable peer at cabin; ' +
      'at 4+2 one site would hold 3 shards, more than m=2'
    throwsNamed(() => placePack(pack(4, 2, candidates), FAIL), 'PlacementError', reason)
    const placed = placePack(pack(4, 2, candidates), REDUCED)
    assert.equal(placed.spread, 'reduced')
    assert.equal(placed.reason, reason)
    assert.equal(new Set(placed.peers).size, 6)
    assert.deepEqual(siteCounts(placed.peers, candidates), { home: 3, office: 3 }) // as even as it gets
    throwsNamed(() => placePack(pack(2, 1, [peer('a', 'home'), peer('b', 'home'), peer('c', 'home')]), FAIL), 'PlacementError',
      'pack 0a1b2c3d4e5f: only 1 site has usable peers (home); at 2+1 one site would hold 3 shards, more than m=1')
  })

  it('enough sites but too few peers at some: says how many shards fit within m per site', () => {
    const candidates = [peer('h1', 'home'), peer('h2', 'home'), peer('h3', 'home'), peer('h4', 'home'),
      peer('o1', 'office'), peer('c1', 'cabin')]
    const reason = 'pack 0a1b2c3d4e5f: at 4+2 one site would hold 4 shards, more than m=2: with at most 2 per site ' +
      'the usable peers take only 4 of the 6 shards (cabin: 1 peer, home: 4 peers, office: 1 peer)'
    throwsNamed(() => placePack(pack(4, 2, candidates), FAIL), 'PlacementError', reason)
    const placed = placePack(pack(4, 2, candidates), REDUCED)
    assert.equal(placed.reason, reason)
    assert.deepEqual(siteCounts(placed.peers, candidates), { home: 4, office: 1, cabin: 1 })
  })

  it('uneven sites within m: the busiest site holds no more than the peers force', () => {
    // 3+3 over home (4 peers), office (2), cabin (1): 2 per site fits only 5, so 3 on home, still <= m
    const candidates = [peer('h1', 'home'), peer('h2', 'home'), peer('h3', 'home'), peer('h4', 'home'),
      peer('o1', 'office'), peer('o2', 'office'), peer('c1', 'cabin')]
    const placed = placePack(pack(3, 3, candidates), FAIL)
    assert.equal(placed.spread, 'full')
    assert.deepEqual(siteCounts(placed.peers, candidates), { home: 3, office: 2, cabin: 1 })
  })

  it('m = 0: no placement survives losing a site', () => {
    const candidates = ['a', 'b', 'c', 'd'].map(s => peer(s, s))
    const reason = 'pack 0a1b2c3d4e5f: at 3+0 there is no parity shard, so losing any site that holds a shard loses the pack'
    throwsNamed(() => placePack(pack(3, 0, candidates), FAIL), 'PlacementError', reason)
    const placed = placePack(pack(3, 0, candidates), REDUCED)
    assert.equal(placed.reason, reason)
    assert.equal(Math.max(...Object.values(siteCounts(placed.peers, candidates))), 1)
  })

  it('repair: keeps fixed shards, never reuses a holder or an excluded peer, and says what is missing', () => {
    const candidates = ['home', 'office', 'cabin'].flatMap(site => [1, 2, 3].map(i => peer(`${site}${i}`, site)))
    const fixed = new Map([[0, 'home1'], [2, 'office1'], [3, 'cabin1'], [5, 'home2']])
    const placed = placePack(pack(4, 2, candidates, { fixed, exclude: ['office2'] }), FAIL)
    for (const [i, id] of fixed) assert.equal(placed.peers[i], id)
    assert.equal(new Set(placed.peers).size, 6)
    assert.ok(!placed.peers.includes('office2'))
    assert.deepEqual(siteCounts(placed.peers, candidates), { home: 2, office: 2, cabin: 2 })
    // home already holds two: the missing shards go elsewhere, and the message speaks of them only
    const few = [peer('h1', 'home'), peer('h2', 'home'), peer('o1', 'office'), peer('o2', 'office', { online: false }), peer('c1', 'cabin'), peer('c2', 'cabin')]
    throwsNamed(() => placePack(pack(4, 2, few, { fixed: new Map([[0, 'h1'], [2, 'o1'], [3, 'c1'], [5, 'h2']]), exclude: new Set(['c2']) }), FAIL), 'PlacementError',
      'pack 0a1b2c3d4e5f: need 2 more distinct online peers with room for a 4.00 MiB shard (shards 1, 4 of 4+2; 4 already placed), ' +
      'have 0: peer c2 already holds a shard of this pack, peer o2 offline')
  })

  it('repair: a site already holding more than m is named', () => {
    const candidates = [peer('a', 'home'), peer('b', 'home'), peer('c', 'home'), peer('d', 'office'), peer('e', 'office'), peer('f', 'cabin')]
    const input = pack(4, 2, candidates, { fixed: new Map([[0, 'a'], [1, 'b'], [4, 'c']]) })
    const reason = 'pack 0a1b2c3d4e5f: site home already holds 3 shards of this pack (a, b, c), more than m=2'
    throwsNamed(() => placePack(input, FAIL), 'PlacementError', reason)
    const placed = placePack(input, REDUCED)
    assert.equal(placed.reason, reason)
    assert.deepEqual(siteCounts(placed.peers, candidates), { home: 3, office: 2, cabin: 1 })
  })

  it('several packs: a peer takes shards while it has room for them, and the message says so', () => {
    const candidates = [peer('a', 'home', { freeBytes: 8 * MiB }), peer('b', 'office', { freeBytes: 4 * MiB }), peer('c', 'cabin', { freeBytes: 12 * MiB })]
    const packs = ['1', '2'].map(p => ({ packId: p.repeat(64), k: 1, m: 1, shardBytes: 4 * MiB }))
    const two = placePacks(packs, candidates, FAIL)
    const counts: Record<string, number> = {}
    for (const p of two) for (const id of p.peers) counts[id] = (counts[id] ?? 0) + 1
    for (const c of candidates) assert.ok((counts[c.id] ?? 0) * 4 * MiB <= c.freeBytes, `${c.id}: ${counts[c.id]} shards`)
    const four = ['1', '2', '3', '4'].map(p => ({ packId: p.repeat(64), k: 1, m: 1, shardBytes: 4 * MiB }))
    throwsNamed(() => placePacks(four, candidates, FAIL), 'PlacementError')
    assert.throws(() => placePacks(four, candidates, FAIL), /free after the earlier packs of this call/)
  })

  it('rejects malformed input with ConfigError', () => {
    const ok = [peer('a', 'home'), peer('b', 'office'), peer('c', 'cabin')]
    throwsNamed(() => placePack(pack(2, 1, [...ok, peer('a', 'lab')]), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, [...ok, peer('d', 'lab', { reputation: 1.5 })]), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, [...ok, peer('d', 'lab', { freeBytes: NaN })]), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, [...ok, peer('d', '')]), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(0, 1, ok), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, -1, ok), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, ok, { shardBytes: -1 }), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, ok, { fixed: new Map([[3, 'a']]) }), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, ok, { fixed: new Map([[0, 'z']]) }), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, ok, { fixed: new Map([[0, 'a'], [1, 'a']]) }), FAIL), 'ConfigError')
    throwsNamed(() => placePack(pack(2, 1, ok), { onShortfall: 'maybe' } as unknown as PlacementPolicy), 'ConfigError')
  })
})
