import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateIdentity } from '../../src/node/identity.js'
import { eventually, pingPeer, startPeer, tempHome, type PeerOptions, type TestPeer } from './holdfast-node-helpers.js'

/** Makes each peer trust every other (no addresses: presence and identify learn them). */
async function trustAll (peers: TestPeer[]): Promise<void> {
  for (const a of peers) {
    for (const b of peers) {
      if (a === b || a.trust.isTrusted(b.node.peerId)) continue
      await a.trust.add({ peerId: b.node.peerId.toString(), name: b.profile.name, site: b.profile.site, addresses: b.node.getMultiaddrs().map(String) })
    }
  }
}

const circuitVia = (p: TestPeer, relay: TestPeer): string[] =>
  p.node.getMultiaddrs().map(String).filter((a) => a.includes(`/p2p/${relay.node.peerId.toString()}/p2p-circuit`))

describe('node/relay reservations (relay.reserve)', function () {
  this.timeout(60_000)
  const peers: TestPeer[] = []
  const homes: string[] = []
  afterEach(async () => {
    for (const p of peers.splice(0)) await p.stop()
    for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true })
  })
  async function peer (name: string, opts: Partial<PeerOptions> = {}): Promise<TestPeer> {
    const home = opts.home ?? await tempHome()
    if (!homes.includes(home)) homes.push(home)
    const p = await startPeer({ name, ...opts, home })
    peers.push(p)
    return p
  }
  const relayConfig = { relay: { server: true, client: false } }
  const reserving = (relay: TestPeer): Record<string, unknown> => ({ listen: [], relay: { client: true, reserve: [relay.node.peerId.toString()] } })

  it('a node that listens nowhere holds a reservation on its relay and is reached through it, without limits', async () => {
    const relay = await peer('relay', { config: relayConfig })
    const b = await peer('b', { config: reserving(relay), presence: true })
    // a listens nowhere either: b cannot dial it, so a's connection to b can only go through the relay
    const a = await peer('a', { config: { listen: [], relay: { server: false, client: true } } })
    assert.deepEqual(b.node.getMultiaddrs(), [], 'b has no address of its own')
    await trustAll([relay, a, b])
    // b's presence dials the relay (a trusted peer); the reservation follows the connection
    await eventually(() => circuitVia(b, relay).length > 0, 20_000, 'b to hold a reservation')
    const [status] = b.node.services.relayReservations!.status()
    assert.equal(status.relay, relay.node.peerId.toString())
    assert.equal(status.reserved, true)
    assert.deepEqual(status.addresses, circuitVia(b, relay))
    const conn = await a.node.dial(b.node.getMultiaddrs())
    assert.ok(conn.remoteAddr.toString().includes('/p2p-circuit'))
    assert.equal(conn.limits, undefined, 'no relay limits between trusted peers')
    assert.ok(await pingPeer(a.node, b.node.peerId) >= 0)
  })

  it('retries a refused reservation with backoff, and holds one once the relay trusts the node', async () => {
    const relayHome = await tempHome()
    homes.push(relayHome)
    const relayId = peerIdFromPrivateKey(await loadOrCreateIdentity(relayHome)).toString()
    const b = await peer('b', { config: { listen: [], relay: { client: true, reserve: [relayId] } } })
    // the relay lets b connect (as a routing-only bootstrap peer) but not reserve: b is not trusted there
    const relay = await peer('relay', { home: relayHome, config: { ...relayConfig, bootstrap: [`/ip4/127.0.0.1/tcp/1/p2p/${b.node.peerId.toString()}`] } })
    await b.trust.add({ peerId: relayId, name: 'relay', site: 's', addresses: relay.node.getMultiaddrs().map(String) })
    await b.node.dial(relay.node.getMultiaddrs())
    const service = b.node.services.relayReservations!
    await eventually(() => service.status()[0].failures >= 1, 20_000, 'a refused reservation')
    assert.equal(service.status()[0].reserved, false)
    assert.ok(service.status()[0].lastError != null)
    assert.deepEqual(circuitVia(b, relay), [])
    // once trusted, the next attempt (within reconnect.maxMs) succeeds, without a restart
    await relay.trust.add({ peerId: b.node.peerId.toString(), name: 'b', site: 's' })
    await eventually(() => circuitVia(b, relay).length > 0, 20_000, 'the reservation after the relay trusted b')
    assert.equal(service.status()[0].reserved, true)
    assert.equal(service.status()[0].failures, 0)
  })

  it('makes the reservation again after the relay restarts', async () => {
    const relayHome = await tempHome()
    homes.push(relayHome)
    let relay = await peer('relay', { home: relayHome, config: relayConfig })
    const port = Number(relay.node.getMultiaddrs()[0].toString().split('/tcp/')[1].split('/')[0])
    const b = await peer('b', { config: reserving(relay), presence: true })
    const a = await peer('a', { config: { listen: [], relay: { server: false, client: true } } })
    await trustAll([relay, a, b])
    await eventually(() => circuitVia(b, relay).length > 0, 20_000, 'the first reservation')
    await relay.stop()
    peers.splice(peers.indexOf(relay), 1)
    await eventually(() => circuitVia(b, relay).length === 0, 10_000, 'the relayed address withdrawn')
    assert.equal(b.node.services.relayReservations!.status()[0].reserved, false)
    relay = await peer('relay', { home: relayHome, config: { ...relayConfig, listen: [`/ip4/127.0.0.1/tcp/${port}`] } })
    // b's presence reconnects (backoff up to reconnect.maxMs = 2 s) and the reservation is made again
    await eventually(() => circuitVia(b, relay).length > 0, 20_000, 'the reservation after the restart')
    assert.equal(b.node.services.relayReservations!.status()[0].reserved, true)
    const conn = await a.node.dial(b.node.getMultiaddrs())
    assert.ok(conn.remoteAddr.toString().includes('/p2p-circuit'))
    assert.ok(await pingPeer(a.node, b.node.peerId) >= 0)
  })

  it('says so when the configured relay offers no relaying, and makes no reservation', async () => {
    const notRelay = await peer('plain')
    const b = await peer('b', { config: reserving(notRelay), presence: true })
    await trustAll([notRelay, b])
    const service = b.node.services.relayReservations!
    await eventually(() => /does not offer relaying/.test(service.status()[0].lastError ?? ''), 20_000, 'the failure reported')
    assert.equal(service.status()[0].reserved, false)
    assert.deepEqual(b.node.getMultiaddrs(), [])
  })

  it('an idle node with the relay client on runs no DHT random walk (it searches no relay)', async () => {
    const a = await peer('a', { config: { relay: { server: false, client: true } } })
    const b = await peer('b', { config: { relay: { server: false, client: true } } })
    await trustAll([a, b])
    await a.node.dial(b.node.getMultiaddrs())
    await eventually(() => a.node.services.dht!.getMode() === 'server' && a.node.getConnections(b.node.peerId).length > 0, 5000, 'connected')
    let walks = 0
    const routing = a.node.peerRouting
    const original = routing.getClosestPeers.bind(routing)
    routing.getClosestPeers = (key, options) => { walks++; return original(key, options) }
    await new Promise((resolve) => setTimeout(resolve, 2000))
    assert.ok(walks <= 2, `${walks} closest-peer queries in 2 s of idling`)
  })
})
