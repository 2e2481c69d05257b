import assert from 'node:assert/strict'
import { DEFAULT_POPULATION, DEFAULT_SIM, HOUR, placementStudy, scenario, SimNetwork } from '../../src/sim/index.js'

/**
 * The scale study, small: 150 nodes for 10 to 30 simulated days run the product's placement, erasure
 * coding, audits (real Merkle proofs), reputation and repair decisions (src/sim). Churn and the site
 * outage begin on day 8, once owners know their hosts' rhythm. The full size is `npm run sim`.
 */
describe('sim: a network of friends at small scale (virtual clock)', function () {
  this.timeout(120_000)
  const size = { nodes: 150, seed: 7, days: 10 }

  it('baseline: every snapshot decodes byte for byte; no honest host of 90%+ uptime penalised', async () => {
    const r = await new SimNetwork(scenario('baseline', size)).run()
    assert.equal(r.ownersWithoutBackup, 0)
    assert.equal(r.packsLost, 0)
    assert.equal(r.packsVerified, r.params.packs)
    assert.ok(r.audits.challenges > r.params.shards * 5, `${r.audits.challenges} challenges`)
    assert.equal(r.audits.failed, 0, 'an honest network fails no audit')
    assert.ok(r.honest90.hosts > 0)
    assert.equal(r.honest90.penalised, 0)
  })

  it('cheats: every host that drops shards or answers from partial data is caught within 2 audit periods; no snapshot lost', async () => {
    const r = await new SimNetwork(scenario('cheats', size)).run()
    assert.ok(r.cheaters.count >= 3, `${r.cheaters.count} cheaters kept shards`)
    assert.equal(r.cheaters.detected, r.cheaters.count)
    assert.ok(r.cheaters.maxDetectionPeriods <= 2, `detected within ${r.cheaters.maxDetectionPeriods} periods`)
    assert.ok(r.repair.shards > 0, 'what they lost was regenerated')
    assert.equal(r.packsLost, 0)
    assert.equal(r.honest90.penalised, 0)
  })

  // At 4+3 with the product's automatic threshold (one absent shard waits, the second loss repairs both;
  // audit/health.ts autoRepairThreshold): no pack is lost, and repair sends at most 1.2x the
  // bytes truly lost. Repair at every loss sent 1.5x: hosts away two weeks came back to find their shards
  // regenerated.
  it('churn (10% leave for good over a week, 5% away two weeks) at 4+3: no snapshot lost; repair at most 1.2x what was truly lost', async () => {
    const r = await new SimNetwork(scenario('churn-4+3', { ...size, days: 30 })).run()
    assert.equal(r.packsLost, 0)
    assert.ok(r.repair.trulyLostBytes > 0, 'hosts left with shards')
    assert.ok(r.repair.ratio > 0.5 && r.repair.ratio <= 1.2, `repair sent ${r.repair.ratio.toFixed(2)}x the bytes truly lost`)
    assert.ok(r.repair.shardsByCause.departed > 0, 'shards of hosts that left were regenerated')
    assert.ok(r.repair.staleDeleted > 0, 'the copies of hosts that came back were deleted where regenerated')
  })

  // At 4+2 (the default) the fixed graces lost packs: three of six hosts gone within a day or two, faster
  // than a 3-day grace (or the 1-day urgent one) let repair act. An owner that knows how long each host is
  // usually away (its rhythm, node/rhythm.ts) regenerates an overdue host's shards within hours when the
  // pack's margin is thin: nothing lost at the same seed.
  it('churn at 4+2: with the hosts\' rhythm no snapshot is lost; with the fixed graces alone, packs were', async () => {
    const churn = { ...size, seed: 1, days: 30 }
    const fixed = await new SimNetwork({ ...scenario('churn', churn), rhythm: false }).run()
    assert.ok(fixed.packsLost - fixed.packsLostOwnerAway > 0, 'the fixed graces lose packs here')
    // each loss of an owner still here is explained as above: m + 1 of its hosts left within less than the grace
    const grace = DEFAULT_SIM.graceMs / HOUR
    for (const l of fixed.lostPacks.filter(l => !l.ownerAway)) assert.ok(l.hostsGone > fixed.params.m && l.withinHours !== null && l.withinHours < grace, JSON.stringify(l))
    const r = await new SimNetwork(scenario('churn', churn)).run()
    assert.equal(r.packsLost, 0)
    assert.equal(r.repair.shardsByCause.offline, 0, 'no host was called overdue within its usual absence')
    assert.ok(r.repair.shardsByCause.departed > 0)
  })

  it('placement: every host stores within 10% of its quota-weighted fair share (under one shard per peer per pack and the site limit)', () => {
    const r = placementStudy({ seed: 7, population: { ...DEFAULT_POPULATION, nodes: 100 }, packsPerOwner: 250, k: 4, m: 3, shardBytes: 1024, quotaShards: [500, 1500] })
    assert.ok(r.office.hosts > 0 && r.home.hosts > 0)
    assert.ok(r.all.max <= 0.1, `the worst host is ${(100 * r.all.max).toFixed(1)}% from its fair share`)
    assert.ok(Math.abs(r.officeMean) < 0.03, `office hosts on average ${(100 * r.officeMean).toFixed(1)}% from theirs`)
  })

  // An office site's hosts are always on: offline for three days, they are overdue after two hours, and the
  // packs they thin are repaired elsewhere; their copies are deleted when the site is back.
  it('a site outage of 3 days loses nothing; what was regenerated meanwhile is deleted when the site is back', async () => {
    const r = await new SimNetwork(scenario('site-outage', { ...size, days: 14 })).run()
    assert.equal(r.packsLost, 0)
    assert.equal(r.packsVerified, r.params.packs)
    assert.ok(r.repair.shardsByCause.offline > 0, 'the site\'s hosts were found overdue')
    assert.equal(r.repair.staleDeleted, r.repair.shardsByCause.offline)
  })
})
