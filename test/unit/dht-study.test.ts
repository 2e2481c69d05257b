import assert from 'node:assert/strict'
import { dhtStudy } from '../../scripts/lib/dht-study.js'

/**
 * Discovery at small scale through the real kad-dht (libp2p 3, the product's DHT protocol, trust gate
 * and peer-info mapper) over an in-memory transport with 50 ms on every buffer: a peer that moved is
 * found again by a peer that trusts it. The full size is `npm run sim:dht`.
 */
describe('sim: discovery of moved peers through the real DHT (in-memory transport)', function () {
  this.timeout(300_000)

  it('every moved peer is found again: median under 2 s, p99 under 10 s', async () => {
    const r = await dhtStudy({ nodes: 30, seed: 3, latencyMs: 50, moves: 8, idleSeconds: 0 })
    assert.ok(r.connections > 60, `${r.connections} connections`)
    assert.equal(r.lookups.count, 8)
    assert.equal(r.lookups.found, 8, JSON.stringify(r.lookups.failures))
    assert.ok(r.lookups.p50Ms < 2000, `median ${r.lookups.p50Ms.toFixed(0)} ms`)
    assert.ok(r.lookups.p99Ms < 10_000, `p99 ${r.lookups.p99Ms.toFixed(0)} ms`)
  })
})
