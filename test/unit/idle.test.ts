import assert from 'node:assert/strict'
import { NO_RANDOM_WALK, withoutRandomWalk } from '../../src/node/no-random-walk.js'
import { eventually, startPeer, type TestPeer } from './holdfast-node-helpers.js'

/**
 * What an idle node does: nothing, or nearly. The relay transport (listening on /p2p-circuit with no
 * relay among its peers) and AutoNAT used to walk the DHT at random, query after query, for as long as
 * the node ran (15-45% of a core per idle daemon).
 */
describe('node/no-random-walk', () => {
  it('yields no peer and ends when the signal aborts (at once when it already has)', async () => {
    const controller = new AbortController()
    const seen: unknown[] = []
    const done = (async () => { for await (const p of NO_RANDOM_WALK.walk({ signal: controller.signal })) seen.push(p) })()
    let ended = false
    void done.then(() => { ended = true })
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(ended, false, 'waits while the signal is live')
    controller.abort()
    await done
    assert.deepEqual(seen, [])
    const later: unknown[] = []
    for await (const p of NO_RANDOM_WALK.walk({ signal: AbortSignal.abort() })) later.push(p)
    assert.deepEqual(later, [])
  })

  it('gives the wrapped factory every component but the random walk', () => {
    const components = { randomWalk: { walk: () => { throw new Error('the real walk') } }, peerId: 'me' }
    const seen = withoutRandomWalk((c: typeof components) => c)(components)
    assert.equal(seen.peerId, 'me')
    assert.equal(seen.randomWalk, NO_RANDOM_WALK)
    assert.ok('randomWalk' in seen && 'peerId' in seen)
  })
})

/** Peers in a node's DHT routing table (kad-dht's own property; the KadDHT interface does not show it). */
function routingTableSize (peer: TestPeer): number {
  return (peer.node.services.dht as unknown as { routingTable: { size: number } }).routingTable.size
}

describe('an idle node (DHT, relay client listening on /p2p-circuit, AutoNAT; no relay among its peers)', function () {
  this.timeout(30_000)
  const peers: TestPeer[] = []
  afterEach(async () => { for (const p of peers.splice(0)) await p.destroy() })

  it('makes no DHT queries of its own once settled', async () => {
    const config = { relay: { server: false, client: true }, autonat: true, holePunching: true }
    const a = await startPeer({ name: 'a', config })
    const b = await startPeer({ name: 'b', config })
    peers.push(a, b)
    await a.trust.add({ peerId: b.node.peerId.toString(), name: 'b', site: 's', addresses: b.node.getMultiaddrs().map(String) })
    await b.trust.add({ peerId: a.node.peerId.toString(), name: 'a', site: 's', addresses: a.node.getMultiaddrs().map(String) })
    // count the queries a makes (random walks, refreshes, self-queries all go through getClosestPeers)
    const dht = a.node.services.dht!
    let queries = 0
    const original = dht.getClosestPeers.bind(dht)
    dht.getClosestPeers = (key, options) => { queries++; return original(key, options) }
    await a.node.dial(b.node.getMultiaddrs())
    await eventually(() => routingTableSize(a) === 1 && routingTableSize(b) === 1, 10_000, 'each DHT to hold the other')
    await new Promise(resolve => setTimeout(resolve, 1500)) // start-up queries (self-query, first refresh) end
    const before = queries
    await new Promise(resolve => setTimeout(resolve, 3000))
    assert.ok(queries - before <= 2, `${queries - before} DHT queries in 3 s of idling`)
    assert.equal(a.node.getConnections(b.node.peerId).length > 0, true, 'still connected')
  })
})
