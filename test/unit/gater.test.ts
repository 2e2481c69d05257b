import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { TrustGate, trustGater } from '../../src/node/gater.js'
import { PAIR_PROTOCOL } from '../../src/node/pairing.js'
import { eventually, pingPeer, startPeer, type TestPeer } from './holdfast-node-helpers.js'

/** A plain libp2p node with no gater of its own: what a stranger on the internet runs. */
async function stranger (): Promise<Libp2p<{ ping: ReturnType<ReturnType<typeof ping>> }>> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { ping: ping() }
  })
}

async function pairDirectly (a: TestPeer, b: TestPeer): Promise<void> {
  await a.trust.add({ peerId: b.node.peerId.toString(), name: b.profile.name, site: b.profile.site, addresses: b.node.getMultiaddrs().map(String) })
  await b.trust.add({ peerId: a.node.peerId.toString(), name: a.profile.name, site: a.profile.site, addresses: a.node.getMultiaddrs().map(String) })
}

describe('node/gater', function () {
  describe('TrustGate (no network)', () => {
    const trusted = new Set(['trusted'])
    const trust = { isTrusted: (p: unknown) => trusted.has(String(p)) }

    it('admits trusted and infrastructure peers, refuses others', () => {
      const gate = new TrustGate({ trust, infrastructure: ['boot'] })
      assert.equal(gate.isTrusted('trusted'), true)
      assert.equal(gate.isTrusted('boot'), false) // routing only: never trusted for Holdfast protocols
      assert.equal(gate.isMember('boot'), true)
      assert.equal(gate.mayAccept('someone'), false)
      assert.equal(gate.mayDial('someone'), false)
    })

    it('a pairing allowance is for one peer, expires, and can be withdrawn', () => {
      let now = 1000
      const gate = new TrustGate({ trust, now: () => now })
      const release = gate.allowPeer('inviter', 500)
      assert.equal(gate.mayDial('inviter'), true)
      assert.equal(gate.mayDial('other'), false)
      now += 501
      assert.equal(gate.mayDial('inviter'), false)
      now = 1000
      const r2 = gate.allowPeer('inviter', 500)
      const r3 = gate.allowPeer('inviter', 500)
      r2()
      assert.equal(gate.mayDial('inviter'), true) // the other allowance still holds
      r3()
      release()
      assert.equal(gate.mayDial('inviter'), false)
    })

    it('the invite window admits unknown inbound peers only while open', () => {
      let open = false
      const gate = new TrustGate({ trust })
      gate.setInviteWindow(() => open)
      assert.equal(gate.mayAccept('stranger'), false)
      open = true
      assert.equal(gate.mayAccept('stranger'), true)
      assert.equal(gate.mayDial('stranger'), false) // never dialled out to
    })

    it('relays only for members towards trusted peers; reservations for trusted peers only', async () => {
      const g = trustGater(new TrustGate({ trust, infrastructure: ['boot'] }))
      const id = (s: string): any => ({ toString: () => s })
      assert.equal(await g.denyInboundRelayReservation?.(id('trusted')), false)
      assert.equal(await g.denyInboundRelayReservation?.(id('boot')), true)
      assert.equal(await g.denyOutboundRelayedConnection?.(id('boot'), id('trusted')), false)
      assert.equal(await g.denyOutboundRelayedConnection?.(id('trusted'), id('boot')), true)
      assert.equal(await g.denyOutboundRelayedConnection?.(id('x'), id('trusted')), true)
    })
  })

  describe('on real nodes', () => {
    let alice: TestPeer
    let bob: TestPeer
    let other: Awaited<ReturnType<typeof stranger>> | undefined

    beforeEach(async () => {
      alice = await startPeer({ name: 'alice', provisionalMs: 800 })
      bob = await startPeer({ name: 'bob' })
    })

    afterEach(async () => {
      await other?.stop()
      other = undefined
      await alice?.destroy()
      await bob?.destroy()
    })

    it('refuses a stranger when no invite is pending', async () => {
      other = await stranger()
      const opened: string[] = []
      alice.node.addEventListener('connection:open', (e) => { opened.push(e.detail.remotePeer.toString()) })
      // the stranger's side may complete its half of the handshake, but alice drops it at once
      const conn = await other.dial(alice.node.getMultiaddrs()).catch(() => undefined)
      if (conn != null) await eventually(() => conn.status !== 'open', 2000, 'the stranger\'s connection to end')
      await assert.rejects(other.services.ping.ping(alice.node.peerId))
      assert.deepEqual(opened, [], 'alice never accepted a connection from the stranger')
      assert.equal(alice.node.getConnections(other.peerId).length, 0)
      // and a Holdfast node does not dial untrusted peers at all
      await bob.node.peerStore.merge(alice.node.peerId, { multiaddrs: alice.node.getMultiaddrs() })
      await assert.rejects(bob.node.dial(alice.node.peerId), { name: 'DialDeniedError' })
    })

    it('during an invite window a stranger may connect and use the pairing protocol and ping only', async () => {
      await alice.pairing.createInvite({ quota: 1 })
      other = await stranger()
      const conn = await other.dial(alice.node.getMultiaddrs())
      assert.equal(conn.status, 'open')
      // libp2p's own protocols are refused to it (identify here)...
      const id = await conn.newStream('/ipfs/id/1.0.0')
      let received = 0
      try { for await (const chunk of id) received += chunk.byteLength } catch {}
      assert.equal(received, 0, 'identify told the stranger nothing')
      assert.equal(id.status, 'reset')
      // ...except ping: libp2p's connection monitor pings every connection and aborts it when the ping
      // fails, which used to cut pairings that ran into a heartbeat
      assert.ok(await other.services.ping.ping(alice.node.peerId) >= 0)
      // ...and the pairing protocol
      const s = await conn.newStream(PAIR_PROTOCOL)
      assert.equal(s.protocol, PAIR_PROTOCOL)
      // a broken handshake ends the provisional connection
      s.abort(new Error('test done'))
      await eventually(() => alice.node.getConnections(other!.peerId).length === 0, 5000, 'provisional connection closed')
      assert.equal(alice.trust.list().length, 0)
    })

    it('an idle provisional connection is closed after provisionalMs', async () => {
      await alice.pairing.createInvite({ quota: 1 })
      other = await stranger()
      const opened = Date.now()
      const conn = await other.dial(alice.node.getMultiaddrs())
      await new Promise((resolve) => setTimeout(resolve, 300))
      assert.equal(conn.status, 'open')
      await eventually(() => conn.status !== 'open', 5000, 'provisional connection closed')
      assert.ok(Date.now() - opened >= 700, 'closed by the provisional timer, not before')
    })

    it('a revoked peer is disconnected and can no longer connect', async () => {
      await pairDirectly(alice, bob)
      await bob.node.peerStore.merge(alice.node.peerId, { multiaddrs: alice.node.getMultiaddrs() })
      await alice.node.peerStore.merge(bob.node.peerId, { multiaddrs: bob.node.getMultiaddrs() })
      await bob.node.dial(alice.node.peerId)
      assert.ok(await pingPeer(bob.node, alice.node.peerId) >= 0)
      await alice.trust.revoke(bob.node.peerId)
      assert.equal(alice.trust.isTrusted(bob.node.peerId), false)
      assert.equal(alice.trust.get(bob.node.peerId)?.revoked, true)
      await eventually(() => alice.node.getConnections(bob.node.peerId).length === 0, 5000, 'revoked peer disconnected')
      await eventually(() => bob.node.getConnections(alice.node.peerId).length === 0, 5000, 'connection gone on bob too')
      // bob still trusts alice and dials her: alice refuses the connection
      const conn = await bob.node.dial(alice.node.peerId).catch(() => undefined)
      if (conn != null) await eventually(() => conn.status !== 'open', 2000, 'bob\'s new connection to end')
      await assert.rejects(bob.node.services.ping.ping(alice.node.peerId))
      // alice does not dial bob any more
      await assert.rejects(alice.node.dial(bob.node.peerId), { name: 'DialDeniedError' })
      assert.equal(alice.node.getConnections(bob.node.peerId).length, 0)
    })
  })
})
