import assert from 'node:assert/strict'
import { dhtStudy } from '../../scripts/lib/dht-study.js'

/**
 * Discovery at small scale through the real kad-dht (libp2p 3, the product's DHT protocol, trust gate
 * and peer-info mapper) and the locate protocol, side by side as presence asks them, over an in-memory
 * transport: a peer that moved is found again by a peer that trusts it. The time is simulated, from the
 * hops of each lookup at 100 ms a round trip (this machine's load does not change it). The full size is
 * `npm run sim:dht`.
 */
describe('sim: discovery of moved peers through the real DHT and locate (in-memory transport)', function () {
  this.timeout(300_000)

  it('every moved peer is found again: median under 2 s, p99 under 10 s', async () => {
    const r = await dhtStudy({ nodes: 30, seed: 3, latencyMs: 0, rttMs: 100, moves: 8, idleSeconds: 0 })
    assert.ok(r.connections > 60, `${r.connections} connections`)
    assert.equal(r.lookups.count, 8)
    assert.equal(r.lookups.found, 8, JSON.stringify(r.lookups.failures))
    assert.ok(r.lookups.foundByLocate >= 1, 'a connected peer knew where a moved peer was')
    assert.ok(r.lookups.hops.p50 >= 1)
    assert.ok(r.lookups.modelMs.p50 < 2000, `median ${r.lookups.modelMs.p50} ms (${r.lookups.hops.p50} hops)`)
    assert.ok(r.lookups.modelMs.p99 < 10_000, `p99 ${r.lookups.modelMs.p99} ms (${r.lookups.hops.p99} hops)`)
  })
})
