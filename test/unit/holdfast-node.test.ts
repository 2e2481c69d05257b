import assert from 'node:assert/strict'
import { DHT_PROTOCOL, PING_STREAMS } from '../../src/node/libp2p-node.js'
import { PAIR_PROTOCOL } from '../../src/node/pairing.js'
import { eventually, pingPeer, startPeer, type TestPeer } from './holdfast-node-helpers.js'

async function trustAll (peers: TestPeer[]): Promise<void> {
  for (const a of peers) {
    for (const b of peers) {
      if (a === b) continue
      await a.trust.add({ peerId: b.node.peerId.toString(), name: b.profile.name, site: b.profile.site, addresses: b.node.getMultiaddrs().map(String) })
    }
  }
}

describe('node/createHoldfastNode', function () {
  const peers: TestPeer[] = []
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.destroy()
  })

  it('builds the full default stack (DHT, relay client and server, DCUtR, AutoNAT) and stops cleanly, twice', async () => {
    const a = await startPeer({ name: 'a', config: { relay: { server: true, client: true }, holePunching: true, autonat: true } })
    peers.push(a)
    const s = a.node.services
    assert.ok(s.identify != null && s.ping != null && s.trustGuard != null)
    assert.ok(s.dht != null && s.relay != null && s.dcutr != null && s.autonat != null)
    assert.equal(s.upnp, undefined)
    const protocols = a.node.getProtocols()
    assert.ok(protocols.includes(DHT_PROTOCOL))
    assert.ok(protocols.includes(PAIR_PROTOCOL))
    assert.ok(!protocols.includes('/ipfs/kad/1.0.0'), 'the DHT is private to Holdfast')
    assert.ok(protocols.includes('/libp2p/circuit/relay/0.2.0/hop'))
    assert.equal(a.node.services.dht?.getMode(), 'server')
    await a.stop()
    await a.stop()
    assert.equal(a.node.status, 'stopped')
  })

  it('relays between trusted peers through a trusted relay, without the default limits', async function () {
    this.timeout(60_000)
    const relay = await startPeer({ name: 'relay', config: { relay: { server: true, client: false } } })
    const a = await startPeer({ name: 'a', config: { relay: { server: false, client: true } } })
    const b = await startPeer({ name: 'b', config: { relay: { server: false, client: true, reserve: [relay.node.peerId.toString()] } } })
    peers.push(relay, a, b)
    await trustAll([relay, a, b])
    // b connects to the relay and takes a reservation on it (relay.reserve)
    await b.node.dial(relay.node.getMultiaddrs())
    await eventually(() => b.node.getMultiaddrs().some((m) => m.toString().includes('/p2p-circuit')), 20_000, 'b to hold a reservation')
    const circuit = b.node.getMultiaddrs().find((m) => m.toString().includes('/p2p-circuit'))!
    assert.ok(circuit.toString().includes(relay.node.peerId.toString()))
    const conn = await a.node.dial(circuit)
    assert.ok(conn.remoteAddr.toString().includes('/p2p-circuit'))
    assert.equal(conn.limits, undefined, 'no relay limits between trusted peers')
    assert.ok(await pingPeer(a.node, b.node.peerId) >= 0)
  })

  it('overlapping pings on one connection (a busy node\'s heartbeats) neither fail nor cut the connection', async () => {
    const a = await startPeer({ name: 'a' })
    const b = await startPeer({ name: 'b' })
    peers.push(a, b)
    await trustAll([a, b])
    const conn = await a.node.dial(b.node.getMultiaddrs())
    const rtts = await Promise.all(Array.from({ length: PING_STREAMS }, async () =>
      await a.node.services.ping.ping(b.node.peerId, { signal: AbortSignal.timeout(5000) })))
    assert.equal(rtts.length, PING_STREAMS)
    assert.ok(rtts.every((ms) => ms >= 0))
    assert.equal(conn.status, 'open')
  })
})
