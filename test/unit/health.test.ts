import assert from 'node:assert/strict'
import { autoRepairThreshold, packHealth } from '../../src/audit/index.js'
import type { HealthPolicy, HostPresence, ShardRecord } from '../../src/audit/index.js'

const HOUR = 3600 * 1000
const DAY = 24 * HOUR
const NOW = Date.UTC(2025, 5, 1)

function throwsNamed (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

/** k = 4, m = 2: six shards on peers p0 .. p5, all verified an hour ago, all peers online. */
const policy: HealthPolicy = { k: 4, m: 2, graceMs: 3 * DAY, verifiedWithinMs: 7 * DAY }
const shards = (): ShardRecord[] => Array.from({ length: 6 }, (_, i) => ({ index: i, peer: `p${i}`, lastVerified: NOW - HOUR }))
const online = (): Record<string, HostPresence> => Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}`, { online: true }]))

describe('audit/health', () => {
  it('a pack whose shards were all verified recently on online peers is whole', () => {
    assert.deepEqual(packHealth(shards(), online(), NOW, policy), {
      health: 6, good: [0, 1, 2, 3, 4, 5], stale: [], regenerate: [], regenerateNow: [], causes: {}, needsRepair: false, unrecoverable: false
    })
  })

  it('regenerates lost shards', () => {
    const s = shards()
    s[2].lost = true
    s[5] = { ...s[5], lost: true, lastVerified: NOW } // lost wins over a recent verification
    const h = packHealth(s, online(), NOW, policy)
    assert.deepEqual([h.health, h.regenerate, h.needsRepair, h.unrecoverable], [4, [2, 5], true, false])
  })

  it('waits out a short absence, regenerates after the grace', () => {
    const peers = online()
    peers.p1 = { online: false, offlineSince: NOW - 2 * DAY }
    let h = packHealth(shards(), peers, NOW, policy)
    assert.deepEqual([h.health, h.good.includes(1), h.regenerate, h.needsRepair], [6, true, [], false])
    peers.p1 = { online: false, offlineSince: NOW - 3 * DAY - 1 }
    h = packHealth(shards(), peers, NOW, policy)
    assert.deepEqual([h.health, h.regenerate, h.needsRepair], [5, [1], true])
    // Exactly at the grace: still waiting.
    peers.p1 = { online: false, offlineSince: NOW - 3 * DAY }
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [])
  })

  it('does not regenerate for a peer offline since an unknown time, but does for one that is no longer a peer', () => {
    const peers = online()
    peers.p3 = { online: false }
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [])
    delete peers.p3
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [3])
    assert.deepEqual(packHealth(shards(), new Map([['p0', { online: true }]]), NOW, policy).regenerate, [1, 2, 3, 4, 5])
    // An inherited property name is not a peer.
    const s = shards()
    s[0].peer = 'constructor'
    assert.deepEqual(packHealth(s, online(), NOW, policy).regenerate, [0])
  })

  it('urgent grace: with only k shards on hosts seen within it, the absent ones are regenerated before the grace; with k + 1, those whose rhythm is not known', () => {
    const urgent = { ...policy, urgentGraceMs: DAY }
    const peers = online()
    // one host away two days whose rhythm is known (a laptop away every weekend, 2.5 days): the margin
    // holds (five recent), it is held to its rhythm, and the grace of three days is waited out
    peers.p1 = { online: false, offlineSince: NOW - 2 * DAY, usualAbsenceMs: 60 * HOUR, watchedAbsenceMs: 2 * DAY }
    let h = packHealth(shards(), peers, NOW, urgent)
    assert.deepEqual([h.regenerate, h.needsRepair], [[], false])
    // the same host with no rhythm known yet (a new peer), watched away two days: five recent is one loss
    // from the edge; not waited for
    peers.p1 = { online: false, offlineSince: NOW - 2 * DAY, watchedAbsenceMs: 2 * DAY }
    h = packHealth(shards(), peers, NOW, urgent)
    assert.deepEqual([h.regenerate, h.causes], [[1], { 1: 'edge' }])
    // ... nor when the overdue rule is off (every host held to the graces alone), its rhythm known or not
    assert.deepEqual(packHealth(shards(), { ...peers, p1: { ...peers.p1, usualAbsenceMs: 60 * HOUR } }, NOW, { ...urgent, overdueSlackMs: Infinity }).regenerate, [1])
    // ... but not for time this node did not watch (it was off itself), not before the urgent grace, and
    // not where the margin is wider (4+3: six recent)
    peers.p1 = { online: false, offlineSince: NOW - 2 * DAY, watchedAbsenceMs: 20 * HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, urgent).regenerate, [])
    peers.p1 = { online: false, offlineSince: NOW - 20 * HOUR, watchedAbsenceMs: 20 * HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, urgent).regenerate, [])
    peers.p1 = { online: false, offlineSince: NOW - 2 * DAY, watchedAbsenceMs: 2 * DAY }
    const seven = [...shards(), { index: 6, peer: 'p6', lastVerified: NOW - HOUR }]
    assert.deepEqual(packHealth(seven, { ...peers, p6: { online: true } }, NOW, { ...urgent, m: 3 }).regenerate, [])
    peers.p1 = { online: false, offlineSince: NOW - 2 * DAY, usualAbsenceMs: 60 * HOUR, watchedAbsenceMs: 2 * DAY }
    // a second host away longer than the urgent grace: four recent = k, both absent ones are regenerated now
    peers.p4 = { online: false, offlineSince: NOW - 30 * HOUR, usualAbsenceMs: 40 * HOUR, watchedAbsenceMs: 30 * HOUR }
    h = packHealth(shards(), peers, NOW, urgent)
    assert.deepEqual([h.health, h.regenerate, h.causes, h.needsRepair, h.unrecoverable], [4, [1, 4], { 1: 'urgent', 4: 'urgent' }, true, false])
    assert.deepEqual(h.regenerateNow, [1, 4], 'at 4+2 the threshold is n: both now')
    // without the rule (the default) they wait
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [])
    // the second one away for less than the urgent grace (a usual night off): nothing yet
    peers.p4 = { online: false, offlineSince: NOW - 10 * HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, urgent).regenerate, [])
    // fewer than k recent: nothing can be rebuilt until hosts are back; the absent ones are not called gone
    peers.p4 = { online: false, offlineSince: NOW - 30 * HOUR }
    peers.p5 = { online: false, offlineSince: NOW - 30 * HOUR }
    h = packHealth(shards(), peers, NOW, urgent)
    assert.deepEqual([h.regenerate, h.unrecoverable], [[], false])
    throwsNamed(() => packHealth(shards(), online(), NOW, { ...policy, urgentGraceMs: -1 }), 'ConfigError')
  })

  it('overdue: a host away far longer than its usual absence is not waited for once the margin is thin', () => {
    const peers = online()
    // a NAS (usual absence a few minutes) watched away for three hours: overdue, but the margin holds at
    // five of six without it... which at 4+2 is thin: one more loss and only k are left; regenerated now
    peers.p1 = { online: false, offlineSince: NOW - 3 * HOUR, usualAbsenceMs: 5 * 60_000, watchedAbsenceMs: 3 * HOUR }
    let h = packHealth(shards(), peers, NOW, policy)
    assert.deepEqual([h.regenerate, h.needsRepair], [[1], true])
    // watched away for less than its usual absence and the slack: waited for
    peers.p1 = { ...peers.p1, watchedAbsenceMs: HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [])
    // away three hours, but this node watched only one of them (it was itself off): waited for
    peers.p1 = { online: false, offlineSince: NOW - 3 * HOUR, usualAbsenceMs: 5 * 60_000, watchedAbsenceMs: HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [])
    // a desktop off ten hours every night, away eleven: its usual night
    peers.p1 = { online: false, offlineSince: NOW - 11 * HOUR, usualAbsenceMs: 10 * HOUR, watchedAbsenceMs: 11 * HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [])
    // ... away fourteen: overdue (10 h + a quarter)
    peers.p1 = { ...peers.p1, offlineSince: NOW - 14 * HOUR, watchedAbsenceMs: 14 * HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [1])
    // an unknown rhythm (a peer watched less than a few days): only the fixed graces apply
    peers.p1 = { online: false, offlineSince: NOW - 14 * HOUR, watchedAbsenceMs: 14 * HOUR }
    assert.deepEqual(packHealth(shards(), peers, NOW, policy).regenerate, [])
  })

  it('overdue at 4+3: one host overdue waits while the margin is wide; of two overdue, one is regenerated now (to the threshold)', () => {
    const wide: HealthPolicy = { ...policy, m: 3 }
    const seven = (): ShardRecord[] => Array.from({ length: 7 }, (_, i) => ({ index: i, peer: `p${i}`, lastVerified: NOW - HOUR }))
    const peers: Record<string, HostPresence> = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`p${i}`, { online: true }]))
    const away = { online: false, offlineSince: NOW - 6 * HOUR, usualAbsenceMs: 0, watchedAbsenceMs: 6 * HOUR }
    peers.p2 = away
    assert.deepEqual(packHealth(seven(), peers, NOW, wide).regenerate, [])
    peers.p5 = away
    const h = packHealth(seven(), peers, NOW, wide)
    assert.deepEqual([h.regenerate, h.needsRepair], [[2, 5], true])
    // to the threshold (n - 1): one of them now, the pack keeps six shards while the other may come back
    assert.deepEqual(h.regenerateNow, [2])
    // the longest away first (an overdue host may be known only by the time watched)
    peers.p5 = { ...away, offlineSince: undefined, watchedAbsenceMs: 9 * HOUR }
    assert.deepEqual(packHealth(seven(), peers, NOW, wide).regenerateNow, [5])
    // with fewer than k not overdue, nothing can be rebuilt now: not called gone
    for (const p of ['p0', 'p1', 'p3']) peers[p] = away
    assert.deepEqual(packHealth(seven(), peers, NOW, wide).regenerate, [])
  })

  it('regenerates an index with no record (never placed)', () => {
    const h = packHealth(shards().filter(s => s.index !== 4), online(), NOW, policy)
    assert.deepEqual([h.good, h.regenerate], [[0, 1, 2, 3, 5], [4]])
  })

  it('counts a shard stored within the window and not audited since as good, an unverified one as stale', () => {
    const s: ShardRecord[] = [
      { index: 0, peer: 'p0', storedAt: NOW - DAY }, // stored yesterday, no audit yet: good
      { index: 1, peer: 'p1', storedAt: NOW - 30 * DAY }, // stored long ago, never audited: stale
      { index: 2, peer: 'p2' }, // nothing known: stale
      { index: 3, peer: 'p3', storedAt: NOW - 30 * DAY, lastVerified: NOW - 7 * DAY }, // at the edge of the window: good
      { index: 4, peer: 'p4', lastVerified: NOW - 7 * DAY - 1 }, // just outside: stale
      { index: 5, peer: 'p5', lastVerified: NOW + HOUR } // a clock ahead: good
    ]
    const h = packHealth(s, online(), NOW, policy)
    assert.deepEqual([h.good, h.stale, h.regenerate], [[0, 3, 5], [1, 2, 4], []])
    // Health is low, but only for want of audits: audit them, do not repair; the data is not given up.
    assert.deepEqual([h.health, h.needsRepair, h.unrecoverable], [3, false, false])
  })

  it('repairs lazily with a lower threshold', () => {
    const lazy = { ...policy, repairThreshold: 5 }
    const s = shards()
    s[0].lost = true
    assert.equal(packHealth(s, online(), NOW, lazy).needsRepair, false)
    s[1].lost = true
    const h = packHealth(s, online(), NOW, lazy)
    assert.deepEqual([h.needsRepair, h.regenerate, h.regenerateNow], [true, [0, 1], [0, 1]])
  })

  it('repairs to the threshold: lost shards at once, of the absent hosts only as many as the threshold needs, the longest away first', () => {
    const wide: HealthPolicy = { ...policy, m: 3 } // threshold n - 1 = 6
    const seven = (): ShardRecord[] => Array.from({ length: 7 }, (_, i) => ({ index: i, peer: `p${i}`, lastVerified: NOW - HOUR }))
    const peers: Record<string, HostPresence> = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`p${i}`, { online: true }]))
    peers.p1 = { online: false, offlineSince: NOW - 4 * DAY }
    let h = packHealth(seven(), peers, NOW, wide)
    assert.deepEqual([h.regenerate, h.regenerateNow, h.needsRepair], [[1], [], false], 'one absent: six kept, it waits')
    // a second host away past the grace, longer than the first: its shard is regenerated, the other waits
    peers.p4 = { online: false, offlineSince: NOW - 10 * DAY }
    h = packHealth(seven(), peers, NOW, wide)
    assert.deepEqual([h.regenerate, h.causes, h.regenerateNow, h.needsRepair], [[1, 4], { 1: 'grace', 4: 'grace' }, [4], true])
    // a lost shard is regenerated whatever the count, and the absent ones still fill up to the threshold
    let s = seven()
    s[6].lost = true
    h = packHealth(s, peers, NOW, wide)
    assert.deepEqual([h.regenerate, h.regenerateNow], [[1, 4, 6], [4, 6]])
    // a stale shard counts as kept (audit it first); one the pack cannot do without is regenerated
    s = seven()
    s[0].lastVerified = NOW - 30 * DAY
    h = packHealth(s, peers, NOW, wide)
    assert.deepEqual([h.health, h.stale, h.regenerateNow, h.needsRepair], [4, [0], [4], true])
    // with the threshold at n, everything that is to be regenerated is regenerated now
    h = packHealth(seven(), peers, NOW, { ...wide, repairThreshold: 7 })
    assert.deepEqual(h.regenerateNow, [1, 4])
    // a threshold of k + 1 still repairs to k + 2: at 4+2, both absent shards
    h = packHealth(shards(), { ...online(), p1: peers.p1, p4: peers.p4 }, NOW, { ...policy, repairThreshold: 5 })
    assert.deepEqual([h.regenerateNow, h.needsRepair], [[1, 4], true])
    // nothing is regenerated while the pack does not need repair, even a shard of a store no longer configured
    delete peers.p1
    peers.p4 = { online: true }
    h = packHealth(seven(), peers, NOW, wide)
    assert.deepEqual([h.regenerate, h.regenerateNow, h.causes, h.needsRepair], [[1], [], { 1: 'gone' }, false])
    // and once it does, that shard goes first, before any shard of a host only away
    peers.p4 = { online: false, offlineSince: NOW - 10 * DAY }
    peers.p5 = { online: false, offlineSince: NOW - 11 * DAY }
    h = packHealth(seven(), peers, NOW, wide)
    assert.deepEqual([h.regenerate, h.regenerateNow, h.needsRepair], [[1, 4, 5], [1, 5], true])
  })

  it('repairs in full when the margin is gone: the shards the urgent rule names are all regenerated', () => {
    const wide: HealthPolicy = { ...policy, m: 3, urgentGraceMs: DAY }
    const seven = (): ShardRecord[] => Array.from({ length: 7 }, (_, i) => ({ index: i, peer: `p${i}`, lastVerified: NOW - HOUR }))
    const peers: Record<string, HostPresence> = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`p${i}`, { online: true }]))
    // two hosts in their night (23 h), three away longer than the urgent grace: four seen within it = k
    for (const p of ['p2', 'p3']) peers[p] = { online: false, offlineSince: NOW - 23 * HOUR }
    for (const [p, hours] of [['p4', 25], ['p5', 26], ['p6', 25.5]] as const) peers[p] = { online: false, offlineSince: NOW - hours * HOUR }
    const h = packHealth(seven(), peers, NOW, wide)
    assert.deepEqual([h.regenerate, h.causes, h.regenerateNow, h.needsRepair], [[4, 5, 6], { 4: 'urgent', 5: 'urgent', 6: 'urgent' }, [4, 5, 6], true])
  })

  it('by default repairs at the first loss below three parity shards, at the second from three on', () => {
    assert.deepEqual([autoRepairThreshold(4, 2), autoRepairThreshold(2, 1), autoRepairThreshold(4, 3), autoRepairThreshold(10, 4)], [6, 3, 6, 13])
    const at = (m: number, lost: number[]): boolean => {
      const s = Array.from({ length: 4 + m }, (_, i): ShardRecord => ({ index: i, peer: `p${i}`, lastVerified: NOW - HOUR, lost: lost.includes(i) }))
      const peers = Object.fromEntries(s.map(x => [x.peer, { online: true }]))
      return packHealth(s, peers, NOW, { ...policy, m }).needsRepair
    }
    assert.equal(at(2, [0]), true, '4+2: one loss is repaired')
    assert.equal(at(3, [0]), false, '4+3: one loss waits')
    assert.equal(at(3, [0, 6]), true, '4+3: two losses are repaired')
    // a threshold set in the policy still wins
    const s = shards()
    s[0].lost = true
    assert.equal(packHealth(s, online(), NOW, { ...policy, repairThreshold: 6 }).needsRepair, true)
  })

  it('is unrecoverable when fewer than k shards are good or stale', () => {
    const s = shards()
    s[0].lost = true
    s[1].lost = true
    s[2].lastVerified = NOW - 60 * DAY // stale, still counted as possibly there
    let h = packHealth(s, online(), NOW, policy)
    assert.deepEqual([h.health, h.unrecoverable], [3, false])
    s[3].lost = true
    h = packHealth(s, online(), NOW, policy)
    assert.deepEqual([h.health, h.stale, h.regenerate, h.unrecoverable], [2, [2], [0, 1, 3], true])
  })

  it('puts every index in exactly one list', () => {
    const peers = online()
    peers.p2 = { online: false, offlineSince: NOW - 10 * DAY }
    peers.p4 = { online: false, offlineSince: NOW - HOUR }
    const s = shards()
    s[0].lost = true
    s[5].lastVerified = NOW - 20 * DAY
    const h = packHealth(s, peers, NOW, policy)
    assert.deepEqual([...h.good, ...h.stale, ...h.regenerate].sort(), [0, 1, 2, 3, 4, 5])
    assert.deepEqual([h.good, h.stale, h.regenerate], [[1, 3, 4], [5], [0, 2]])
  })

  it('refuses a bad policy or shard list', () => {
    throwsNamed(() => packHealth(shards(), online(), NOW, { ...policy, k: 0 }), 'ConfigError')
    throwsNamed(() => packHealth(shards(), online(), NOW, { ...policy, m: -1 }), 'ConfigError')
    throwsNamed(() => packHealth(shards(), online(), NOW, { ...policy, repairThreshold: 3 }), 'ConfigError')
    throwsNamed(() => packHealth(shards(), online(), NOW, { ...policy, repairThreshold: 7 }), 'ConfigError')
    throwsNamed(() => packHealth(shards(), online(), NOW, { ...policy, graceMs: -1 }), 'ConfigError')
    throwsNamed(() => packHealth(shards(), online(), NOW, { ...policy, verifiedWithinMs: Number.NaN }), 'ConfigError')
    throwsNamed(() => packHealth([...shards(), { index: 6, peer: 'p6' }], online(), NOW, policy), 'ConfigError')
    throwsNamed(() => packHealth([...shards(), { index: 2, peer: 'p6' }], online(), NOW, policy), 'ConfigError')
    throwsNamed(() => packHealth(shards(), online(), Number.NaN, policy), 'ConfigError')
  })
})
