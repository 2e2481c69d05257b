import assert from 'node:assert/strict'
import { packHealth, type HostPresence, type ShardRecord } from '../../src/audit/index.js'
import { regenerateReason } from '../../src/maintenance/repository-health.js'

const HOUR = 3600_000
const DAY = 24 * HOUR
const now = Date.UTC(2026, 0, 10)
const graces = { graceMs: 3 * DAY, urgentGraceMs: DAY }
const policy = { k: 4, m: 2, verifiedWithinMs: 7 * DAY, ...graces }
const shards = (): ShardRecord[] => Array.from({ length: 6 }, (_, i) => ({ index: i, peer: `p${i}`, lastVerified: now - HOUR }))
const online = (): Record<string, HostPresence> => Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}`, { online: true }]))

/** What `holdfast health` says of each shard to regenerate: the rule packHealth applied, in words. */
function said (peers: Record<string, HostPresence>, s = shards()): Record<number, string> {
  const h = packHealth(s, peers, now, policy)
  return Object.fromEntries(h.regenerate.map(i => [i, regenerateReason(h.causes[i], peers[`p${i}`], now, graces)]))
}

describe('maintenance/regenerateReason: why a shard is regenerated, in words, by the rule that applied', () => {
  it('the grace, though the host\'s rhythm is known', () => {
    const peers = online()
    peers.p1 = { online: false, offlineSince: now - 3.5 * DAY, usualAbsenceMs: 10 * HOUR, watchedAbsenceMs: 3 * DAY }
    assert.deepEqual(said(peers), { 1: 'its host has been offline 3.5 days, past the grace of 3.0 days' })
  })

  it('the urgent grace with only k shards left; one loss from the edge, only for a host whose rhythm is not known, on watched time', () => {
    const peers = online()
    peers.p1 = { online: false, offlineSince: now - 30 * HOUR, usualAbsenceMs: 40 * HOUR, watchedAbsenceMs: 28 * HOUR }
    peers.p2 = { online: false, offlineSince: now - 26 * HOUR, usualAbsenceMs: 40 * HOUR, watchedAbsenceMs: 25 * HOUR }
    assert.deepEqual(said(peers), {
      1: 'its host has been offline 30.0 h, past the urgent grace of 24.0 h, and only k shards are left on hosts seen within it',
      2: 'its host has been offline 26.0 h, past the urgent grace of 24.0 h, and only k shards are left on hosts seen within it'
    })
    // one host only, its rhythm not known: one loss from the edge
    const edge = online()
    edge.p1 = { online: false, offlineSince: now - 30 * HOUR, watchedAbsenceMs: 26 * HOUR }
    assert.deepEqual(said(edge), { 1: 'its host has been away 26.0 h while this node watched, past the urgent grace of 24.0 h, one loss from the edge, and how long it is usually away is not known yet' })
    // the same host offline 30 h, but this node was itself off for most of them (a weekend): not held against it
    edge.p1 = { online: false, offlineSince: now - 30 * HOUR, watchedAbsenceMs: 2 * HOUR }
    assert.deepEqual(said(edge), {})
    // nor in the minutes after this node started, before its peers could reconnect (no watched time yet)
    edge.p1 = { online: false, offlineSince: now - 30 * HOUR }
    assert.deepEqual(said(edge), {})
  })

  it('overdue: away far longer than usual, on watched time, though offline past the urgent grace', () => {
    const peers = online()
    peers.p1 = { online: false, offlineSince: now - 30 * HOUR, usualAbsenceMs: 6 * 60_000, watchedAbsenceMs: 3.2 * HOUR }
    assert.deepEqual(said(peers), { 1: 'its host has been away 3.2 h while this node watched, usually at most 6 min' })
  })

  it('a store no longer configured; a shard lost or never placed', () => {
    const peers = online()
    delete peers.p3
    const s = shards()
    s[0].lost = true
    assert.deepEqual(said(peers, s.filter(x => x.index !== 5)), { 0: 'it was found missing or damaged', 3: 'its store is no longer configured', 5: 'it was never placed' })
  })
})
