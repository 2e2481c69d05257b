import assert from 'node:assert/strict'
import { applyPolicy, bucketOf, RetentionPolicy, RetentionSnapshot, validatePolicy } from '../../src/retention/index.js'

let seq = 0
function snap (time: Date, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot {
  return { id: `s${String(seq++).padStart(4, '0')}`, time: time.toISOString(), hostname: 'h', paths: ['/data'], ...extra }
}

function kept (snaps: RetentionSnapshot[], policy: RetentionPolicy): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const g of applyPolicy(snaps, policy).groups) for (const d of g.decisions) if (d.keep) out.set(d.id, d.reasons)
  return out
}

describe('retention/applyPolicy', () => {
  it('keep-last N keeps the N newest, whatever the input order', () => {
    const s = [0, 1, 2, 3, 4].map(i => snap(new Date(2026, 0, 1, i)))
    const k = kept([s[3], s[0], s[4], s[1], s[2]], { last: 2 })
    assert.deepEqual([...k.keys()].sort(), [s[3].id, s[4].id])
    assert.deepEqual(k.get(s[4].id), ['last'])
  })

  it('keep-daily keeps the newest snapshot of each of the N most recent days that have one', () => {
    const s: RetentionSnapshot[] = []
    for (let day = 1; day <= 30; day++) for (const h of [8, 12, 18]) s.push(snap(new Date(2026, 3, day, h)))
    const k = kept(s, { daily: 7 })
    assert.equal(k.size, 7)
    for (let day = 24; day <= 30; day++) {
      const newest = s.find(x => x.time === new Date(2026, 3, day, 18).toISOString())!
      assert.deepEqual(k.get(newest.id), ['daily'], `day ${day}`)
    }
  })

  it('a day without a snapshot takes no slot', () => {
    const s = [1, 2, 5, 9].map(d => snap(new Date(2026, 5, d, 10)))
    const k = kept(s, { daily: 3 })
    assert.deepEqual([...k.keys()].sort(), [s[1].id, s[2].id, s[3].id])
  })

  it('keep-weekly uses ISO weeks across a year boundary', () => {
    // 2026-12-28 (Mon) .. 2027-01-03 (Sun) are ISO week 2026-W53
    assert.equal(bucketOf('weekly', new Date(2026, 11, 28, 12)), bucketOf('weekly', new Date(2027, 0, 3, 12)))
    assert.notEqual(bucketOf('weekly', new Date(2027, 0, 3, 12)), bucketOf('weekly', new Date(2027, 0, 4, 12)))
    assert.equal(bucketOf('weekly', new Date(2027, 0, 3, 12)), '2026-W53')
    assert.equal(bucketOf('weekly', new Date(2026, 0, 1, 12)), '2026-W1')
    const a = snap(new Date(2026, 11, 28, 9))
    const b = snap(new Date(2027, 0, 2, 9))
    const c = snap(new Date(2027, 0, 5, 9))
    const k = kept([a, b, c], { weekly: 2 })
    assert.deepEqual([...k.keys()].sort(), [b.id, c.id])
  })

  it('keep-monthly and keep-yearly', () => {
    const s = [[2024, 5], [2025, 1], [2025, 1], [2025, 7], [2026, 2]].map(([y, mo], i) => snap(new Date(y, mo, 1 + i, 12)))
    assert.deepEqual([...kept(s, { monthly: 2 }).keys()].sort(), [s[3].id, s[4].id])
    assert.deepEqual([...kept(s, { yearly: 2 }).keys()].sort(), [s[3].id, s[4].id])
    assert.deepEqual([...kept(s, { yearly: -1 }).keys()].sort(), [s[0].id, s[3].id, s[4].id])
  })

  it('rules combine; a snapshot kept by several lists every reason', () => {
    const s = [1, 2, 3].map(d => snap(new Date(2026, 1, d, 12)))
    const k = kept(s, { last: 1, daily: 2, monthly: 1 })
    assert.deepEqual(k.get(s[2].id), ['last', 'daily', 'monthly'])
    assert.deepEqual(k.get(s[1].id), ['daily'])
    assert.equal(k.has(s[0].id), false)
  })

  it('keep-tag keeps every snapshot with one of the tags', () => {
    const s = [snap(new Date(2026, 0, 1), { tags: ['release'] }), snap(new Date(2026, 0, 2)), snap(new Date(2026, 0, 3), { tags: ['x', 'release'] }), snap(new Date(2026, 0, 4))]
    const k = kept(s, { tags: ['release'], last: 1 })
    assert.deepEqual(k.get(s[0].id), ['tag:release'])
    assert.deepEqual(k.get(s[2].id), ['tag:release'])
    assert.deepEqual(k.get(s[3].id), ['last'])
    assert.equal(k.has(s[1].id), false)
  })

  it('an archived snapshot is always kept and takes no slot of the other rules', () => {
    const s = [1, 2, 3].map(d => snap(new Date(2026, 2, d)))
    s[2].archived = true
    s[0].archived = true
    const k = kept(s, { last: 1 })
    assert.deepEqual(k.get(s[2].id), ['archived'])
    assert.deepEqual(k.get(s[1].id), ['last'], 'the newest not archived fills keep-last 1')
    assert.deepEqual(k.get(s[0].id), ['archived'])
  })

  it('applies the rules per group of host and paths', () => {
    const a = [1, 2].map(d => snap(new Date(2026, 0, d), { hostname: 'a' }))
    const b = [1, 2].map(d => snap(new Date(2026, 0, d), { hostname: 'b' }))
    const c = [3].map(d => snap(new Date(2026, 0, d), { hostname: 'a', paths: ['/other'] }))
    const res = applyPolicy([...a, ...b, ...c], { last: 1 })
    assert.equal(res.groups.length, 3)
    const k = kept([...a, ...b, ...c], { last: 1 })
    assert.deepEqual([...k.keys()].sort(), [a[1].id, b[1].id, c[0].id].sort())
  })

  it('an empty policy is refused (EmptyPolicyError); bad counts are refused (InvalidPolicyError)', () => {
    assert.throws(() => validatePolicy({}), { name: 'EmptyPolicyError' })
    assert.throws(() => applyPolicy([snap(new Date())], { tags: [] }), { name: 'EmptyPolicyError' })
    for (const bad of [0, -2, 1.5, Number.NaN]) assert.throws(() => validatePolicy({ daily: bad }), { name: 'InvalidPolicyError' }, String(bad))
    assert.doesNotThrow(() => validatePolicy({ last: -1 }))
  })
})
