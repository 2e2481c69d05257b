/** The Overview's protection status: one sentence, a colour, and warnings with their fixes (pure). */
import assert from 'node:assert/strict'
import { ago, overviewOf } from '../../src/web/overview.js'
import type { BackupSet, Peer, Session } from '../../src/web/api-schemas.js'

const NOW = Date.parse('2026-12-05T12:00:00Z')
const H = 3600_000

function session (over: Partial<Session>): Session {
  return { id: '0123456789abcdef', trigger: 'schedule', status: 'ok', paths: ['/data'], started: new Date(NOW - 2 * H - 60_000).toISOString(), ended: new Date(NOW - 2 * H).toISOString(), counts: { filesNew: 1, filesChanged: 0, filesUnchanged: 0, dirs: 1, errors: 0 }, bytesRead: 1, bytesAdded: 1, bytesStored: 1, warnings: [], errors: [], warningsTotal: 0, errorsTotal: 0, ...over }
}
function set (name: string, last: Session | null, lastSuccess: string | null): BackupSet {
  return { name, paths: ['/data'], schedule: '0 * * * *', watch: false, nextRun: null, lastSession: last, lastSuccess }
}
function peer (name: string, over: Partial<Peer> = {}): Peer {
  return { peerId: `id-${name}`, name, site: 'home', online: true, via: 'direct', lastSeen: new Date(NOW).toISOString(), revoked: false, quotaGranted: 100, quotaReceived: 1000, storedForThem: 10, storesForMe: 100, ...over }
}

describe('web/overview', () => {
  it('every set backed up recently and peers online: green, one sentence with the figures', () => {
    const s = session({ set: 'docs' })
    const o = overviewOf({ sets: [set('docs', s, s.ended), set('photos', s, s.ended)], peers: [peer('ann'), peer('bob', { online: false }), peer('old', { revoked: true })], recentSessions: [s], now: NOW })
    assert.equal(o.level, 'ok')
    assert.equal(o.summary, 'All 2 sets protected, last backup 2 h ago, 1 of 2 peers online')
    assert.deepEqual(o.warnings, [])
    assert.deepEqual(o.peers, { trusted: 2, online: 1 })
    assert.deepEqual(o.space, { storedOnOthers: 200, givenToOthers: 20, grantedByOthers: 2000, grantedToOthers: 200 })
  })

  it('a failed last session, a stale set and a peer near its quota are warnings, each with its fix', () => {
    const ok = session({ set: 'docs' })
    const failed = session({ set: 'docs', status: 'failed', reason: 'no store reachable' })
    const old = new Date(NOW - 5 * 24 * H).toISOString()
    const o = overviewOf({ sets: [set('docs', failed, ok.ended), set('photos', session({ set: 'photos', ended: old }), old)], peers: [peer('ann', { storesForMe: 950 })], recentSessions: [failed], now: NOW })
    assert.equal(o.level, 'warning')
    assert.equal(o.summary, '1 of 2 sets protected, last backup 2 h ago')
    assert.deepEqual(o.warnings.map(w => w.message), [
      'The last backup of "docs" failed: no store reachable',
      'Set "photos" was last backed up 5 days ago',
      'ann keeps 95% of the room they grant you'
    ])
    assert.ok(o.warnings.every(w => w.action.length > 0))
  })

  it('packs: every one at n/n in the sentence; some short is a warning, some at their last shards red', () => {
    const s = session({ set: 'docs' })
    const base = { sets: [set('docs', s, s.ended)], peers: [peer('ann'), peer('bob')], recentSessions: [s], now: NOW }
    const all = overviewOf({ ...base, packs: { total: 12, full: 12, degraded: 0, critical: 0, n: 6 } })
    assert.equal(all.summary, 'All 1 set protected, last backup 2 h ago, every pack at 6/6, 2 of 2 peers online')
    assert.equal(all.level, 'ok')
    const short = overviewOf({ ...base, packs: { total: 12, full: 9, degraded: 3, critical: 0, n: 6 } })
    assert.equal(short.level, 'warning')
    assert.equal(short.summary, 'All 1 set backed up, last backup 2 h ago, 3 of 12 packs below 6/6, 2 of 2 peers online')
    assert.match(short.warnings[0].message, /^3 of 12 packs are missing shards/)
    const risky = overviewOf({ ...base, packs: { total: 12, full: 9, degraded: 2, critical: 1, n: 6 } })
    assert.equal(risky.level, 'danger')
    assert.deepEqual(risky.warnings.map(w => w.message.split(' packs')[0]), ['2 of 12', '1 of 12'])
    assert.match(risky.warnings[1].action, /holdfast repair/)
  })

  it('no peer, or no set ever backed up: red', () => {
    assert.equal(overviewOf({ sets: [set('docs', null, null)], peers: [peer('ann')], recentSessions: [], now: NOW }).level, 'danger')
    const s = session({})
    const lonely = overviewOf({ sets: [set('docs', s, s.ended)], peers: [], recentSessions: [s], now: NOW })
    assert.equal(lonely.level, 'danger')
    assert.match(lonely.warnings[0].action, /Pair with a friend/)
  })

  it('ago rounds to minutes, hours and days', () => {
    assert.equal(ago(30_000), 'just now')
    assert.equal(ago(10 * 60_000), '10 min ago')
    assert.equal(ago(3 * H), '3 h ago')
    assert.equal(ago(3 * 24 * H), '3 days ago')
  })
})
