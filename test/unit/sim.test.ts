import assert from 'node:assert/strict'
import { scenario, SimNetwork } from '../../src/sim/index.js'

/**
 * The scale study, small: 150 nodes for 10 simulated days run the product's placement, erasure coding,
 * audits (real Merkle proofs), reputation and repair decisions (src/sim). The full size is `npm run sim`.
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

  it('a site outage of 3 days loses nothing', async () => {
    const r = await new SimNetwork(scenario('site-outage', size)).run()
    assert.equal(r.packsLost, 0)
    assert.equal(r.packsVerified, r.params.packs)
  })
})
