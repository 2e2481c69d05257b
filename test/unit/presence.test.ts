import assert from 'node:assert/strict'
import type { PeerId } from '@libp2p/interface'
import { backoffDelay, Presence, type OnlineVia } from '../../src/node/presence.js'
import { eventually, nextEvent, startPeer, tempHome, type TestPeer, trustEachOther } from './holdfast-node-helpers.js'
import { rm } from 'node:fs/promises'

describe('node/presence', function () {
  describe('backoffDelay', () => {
    const r = { minMs: 1000, maxMs: 60_000 }
    it('doubles from minMs up to maxMs', () => {
      assert.deepEqual([0, 1, 2, 3, 10].map((f) => backoffDelay(f, r, () => 0.5)), [1000, 2000, 4000, 8000, 60_000])
    })
    it('jitters by at most 20% and never exceeds maxMs', () => {
      assert.equal(backoffDelay(0, r, () => 0), 800)
      assert.equal(backoffDelay(0, r, () => 1), 1200)
      assert.equal(backoffDelay(50, r, () => 1), 60_000)
    })
  })

  describe('on real nodes', () => {
    const peers: TestPeer[] = []
    const homes: string[] = []
    afterEach(async () => {
      for (const p of peers.splice(0)) await p.stop()
      for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true })
    })
    async function peer (name: string, opts: Parameters<typeof startPeer>[0] extends infer O ? Partial<O> : never = {}): Promise<TestPeer> {
      const home = opts.home ?? await tempHome()
      if (!homes.includes(home)) homes.push(home)
      const p = await startPeer({ name, ...opts, home })
      peers.push(p)
      return p
    }

    it('connects to trusted peers, tracks online/offline and lastSeen', async () => {
      const a = await peer('a')
      const b = await peer('b')
      await trustEachOther(a, b)
      // no other DHT peer: once b is gone a lookup waits for findPeerTimeoutMs, then fails
      const presence = new Presence({ node: a.node, trust: a.trust, reconnect: { minMs: 200, maxMs: 1000 }, findPeerTimeoutMs: 1000, dialTimeoutMs: 2000 })
      a.presence = presence
      const online = nextEvent<{ peerId: PeerId, via: OnlineVia }>(presence, 'peer:online', 10_000)
      await presence.start()
      const evt = await online
      assert.equal(evt.peerId.toString(), b.node.peerId.toString())
      assert.equal(evt.via, 'dial')
      assert.equal(presence.isOnline(b.node.peerId), true)
      assert.equal(presence.status(b.node.peerId)?.kind, 'trusted')
      await eventually(() => a.trust.get(b.node.peerId)?.lastSeen != null, 5000, 'lastSeen recorded')

      const offline = nextEvent<{ peerId: PeerId }>(presence, 'peer:offline', 10_000)
      await b.stop()
      peers.splice(peers.indexOf(b), 1)
      assert.equal((await offline).peerId.toString(), b.node.peerId.toString())
      assert.equal(presence.isOnline(b.node.peerId), false)
      // it keeps trying, with backoff
      await eventually(() => (presence.status(b.node.peerId)?.failures ?? 0) >= 1, 20_000, 'a failed retry')
      assert.ok(presence.status(b.node.peerId)?.nextAttemptAt != null)
    })

    it('reports a peer that connects to us as inbound, and picks up peers paired while running', async () => {
      const a = await peer('a', { presence: true })
      const b = await peer('b')
      const online = nextEvent<{ peerId: PeerId, via: OnlineVia }>(a.presence!, 'peer:online', 10_000)
      await trustEachOther(a, b, { withAddresses: false }) // a cannot dial b: b must come to a
      await b.node.dial(a.node.getMultiaddrs())
      const evt = await online
      assert.equal(evt.via, 'inbound')
      // and a learnt b's addresses from identify
      await eventually(() => (a.trust.get(b.node.peerId)?.addresses.length ?? 0) > 0, 5000, 'addresses from identify')
    })

    it('finds a trusted peer again through the DHT after it restarts on a new port', async function () {
      this.timeout(90_000)
      // c: a third node trusted by both, their bootstrap node
      const c = await peer('c')
      const boot = c.node.getMultiaddrs().map(String)
      const a = await peer('a', { config: { bootstrap: boot } })
      const bHome = await tempHome()
      homes.push(bHome)
      let b = await peer('b', { home: bHome, config: { bootstrap: boot } })
      const bId = b.node.peerId.toString()
      await trustEachOther(a, c)
      await trustEachOther(b, c)
      // b does not record a's address: after its restart only a can restore the link
      await trustEachOther(a, b, { withAddresses: false })
      await a.trust.updateAddresses(bId, b.node.getMultiaddrs())
      const oldAddrs = b.node.getMultiaddrs().map(String)
      await b.node.dial(c.node.getMultiaddrs())

      const presence = new Presence({ node: a.node, trust: a.trust, reconnect: { minMs: 200, maxMs: 2000 }, bootstrap: a.config.bootstrap, dialTimeoutMs: 3000, findPeerTimeoutMs: 5000 })
      a.presence = presence
      const events: Array<[string, string, OnlineVia?]> = []
      presence.addEventListener('peer:online', (e) => { events.push(['online', e.detail.peerId.toString(), e.detail.via]) })
      presence.addEventListener('peer:offline', (e) => { events.push(['offline', e.detail.peerId.toString()]) })
      await presence.start()
      await eventually(() => presence.isOnline(bId) && presence.isOnline(c.node.peerId), 10_000, 'a connected to b and c')
      assert.deepEqual(events.filter((e) => e[1] === bId), [['online', bId, 'dial']])

      // b goes away and comes back on another port, without DHT and without presence: it only
      // reconnects to c. a's known address for b is stale; only a DHT lookup through c finds b.
      await b.stop()
      peers.splice(peers.indexOf(b), 1)
      await eventually(() => !presence.isOnline(bId), 10_000, 'b seen offline')
      b = await peer('b', { home: bHome, config: { bootstrap: boot, dht: false } })
      assert.equal(b.node.peerId.toString(), bId, 'same identity after restart')
      const newAddrs = b.node.getMultiaddrs().map(String)
      assert.notDeepEqual(newAddrs, oldAddrs)
      await b.node.dial(c.node.getMultiaddrs())

      await eventually(() => presence.isOnline(bId), 60_000, 'b found again')
      assert.deepEqual(events.filter((e) => e[1] === bId), [['online', bId, 'dial'], ['offline', bId], ['online', bId, 'dht']])
      assert.equal(a.node.getConnections(b.node.peerId).length > 0, true)
      const newPort = newAddrs[0].split('/tcp/')[1].split('/')[0]
      await eventually(() => a.trust.get(bId)?.addresses.some((x) => x.endsWith(`/tcp/${newPort}`)) === true, 5000, 'b\'s new address in a\'s trust list')
    })

    it('reach(): fails for a peer that is gone, and finds a moved peer through the DHT without waiting for the backoff', async function () {
      this.timeout(90_000)
      const c = await peer('c')
      const a = await peer('a')
      const bHome = await tempHome()
      homes.push(bHome)
      let b = await peer('b', { home: bHome })
      const bId = b.node.peerId.toString()
      await trustEachOther(a, c)
      await trustEachOther(b, c)
      await trustEachOther(a, b)
      // retries a minute apart: within this test only reach() brings b back
      const presence = new Presence({ node: a.node, trust: a.trust, reconnect: { minMs: 60_000, maxMs: 120_000 }, dialTimeoutMs: 3000, findPeerTimeoutMs: 5000 })
      a.presence = presence
      await presence.start()
      await eventually(() => presence.isOnline(bId) && presence.isOnline(c.node.peerId), 10_000, 'a connected to b and c')
      await presence.reach(bId) // connected: returns at once
      await assert.rejects(presence.reach('12D3KooWHs313QQiuqKCQFPJ3oDDbkK51BqTCzZU5DV29mYbDzpH'), { name: 'PeerUnreachableError' })

      await b.stop()
      peers.splice(peers.indexOf(b), 1)
      await eventually(() => !presence.isOnline(bId), 10_000, 'b seen offline')
      await assert.rejects(presence.reach(bId, { signal: AbortSignal.abort() }), { name: 'AbortedError' })
      // (this one first waits for the attempt the aborted call started, then makes its own)
      await assert.rejects(presence.reach(bId), { name: 'PeerUnreachableError', message: /not found through the DHT/ })

      // b comes back on another port and reconnects to c only; a's known address for b is stale
      b = await peer('b', { home: bHome, config: { dht: false } })
      await b.node.dial(c.node.getMultiaddrs())
      await presence.reach(bId)
      assert.equal(presence.isOnline(bId), true)
      assert.equal(presence.status(bId)?.via, 'dht')
      assert.ok(a.node.getConnections(b.node.peerId).length > 0)
    })

    it('watches a peer\'s absence only while this node runs, is awake and reaches a peer, across its own breaks; records it when the peer is back', async function () {
      this.timeout(60_000)
      const a = await peer('a')
      const bHome = await tempHome()
      homes.push(bHome)
      const b = await peer('b', { home: bHome })
      const cHome = await tempHome()
      homes.push(cHome)
      const c = await peer('c', { home: cHome }) // stays online: a is not cut off while b is away
      await trustEachOther(a, b)
      await trustEachOther(a, c)
      const bId = b.node.peerId
      const cId = c.node.peerId
      await b.stop()
      peers.splice(peers.indexOf(b), 1)
      let clock = Date.UTC(2026, 0, 5, 20)
      const MIN = 60_000
      const tick = (minutes: number): void => { for (let i = 0; i < minutes; i++) { clock += MIN; presence.watchedAbsence(bId) } }
      // reconnect.maxMs + dial + DHT timeouts: each peer's time to reconnect after a start or a break
      const settle = 60 * MIN + 1000 + 10_000
      const make = (): Presence => new Presence({ node: a.node, trust: a.trust, reconnect: { minMs: 60 * MIN, maxMs: 60 * MIN }, dht: false, dialTimeoutMs: 1000, now: () => clock })
      let presence = make()
      a.presence = presence
      await presence.start()
      await eventually(() => presence.isOnline(c.node.peerId), 10_000, 'c online')
      // while peers may still be reconnecting, nobody is held absent
      assert.equal(presence.watchedAbsence(bId), undefined)
      tick(90)
      assert.ok(clock - Date.UTC(2026, 0, 5, 20) > settle)
      assert.equal(presence.watchedAbsence(bId), 90 * MIN)
      // this machine sleeps eight hours: not counted; peers get their time to reconnect, then the count goes on
      clock += 8 * 3600_000
      assert.equal(presence.watchedAbsence(bId), undefined)
      tick(75)
      assert.equal(presence.watchedAbsence(bId), (90 + 75) * MIN)
      // stopped mid-absence: what it watched is carried on disk, no day's absence yet; after a start it goes on
      await presence.stop()
      assert.equal(a.trust.get(bId)!.rhythm?.carriedMs, 165 * MIN)
      const day = Math.floor(clock / 86_400_000)
      assert.equal(a.trust.get(bId)!.rhythm?.days.some(([d]) => d === day), false)
      clock += 5 * MIN
      presence = make()
      a.presence = presence
      await presence.start()
      await eventually(() => presence.isOnline(c.node.peerId), 10_000, 'c online again')
      tick(80)
      assert.equal(presence.watchedAbsence(bId), (165 + 80) * MIN)
      // this machine sleeps eight hours again, and b is the first thing it hears of on waking (before the
      // minute's heartbeat): the sleep is not in b's absence either
      clock += 8 * 3600_000
      // b is back: online, no absence; the 245 minutes watched are b's absence of that day, nothing carried
      const online = nextEvent<{ peerId: PeerId, via: OnlineVia }>(presence, 'peer:online', 10_000)
      const back = await peer('b', { home: bHome })
      await back.node.dial(a.node.getMultiaddrs())
      await online
      assert.equal(presence.watchedAbsence(bId), undefined)
      const dayBack = Math.floor(clock / 86_400_000)
      await eventually(() => a.trust.get(bId)!.rhythm!.days.some(([d, ms]) => d === dayBack && ms === 245 * MIN), 5000, 'the absence recorded')
      assert.equal(a.trust.get(bId)!.rhythm!.carriedMs, undefined)
      // b and c both leave: this node is cut off (its own network may be down) and watches nothing, however long
      await back.stop()
      peers.splice(peers.indexOf(back), 1)
      await c.stop()
      peers.splice(peers.indexOf(c), 1)
      await eventually(() => !presence.isOnline(bId) && !presence.isOnline(cId), 10_000, 'b and c offline')
      for (let i = 0; i < 10; i++) {
        tick(60)
        assert.equal(presence.watchedAbsence(bId), undefined)
      }
      // c is back: this node is in touch again, and watches b's absence from now, not from the cut-off
      const cBack = nextEvent<{ peerId: PeerId, via: OnlineVia }>(presence, 'peer:online', 10_000)
      const c2 = await peer('c', { home: cHome })
      await c2.node.dial(a.node.getMultiaddrs())
      await cBack
      tick(70)
      assert.equal(presence.watchedAbsence(bId), 70 * MIN)
      await presence.stop()
      assert.equal(a.trust.get(bId)!.rhythm!.carriedMs, 70 * MIN)
    })

    it('start and stop are idempotent; stop before start is harmless', async () => {
      const a = await peer('a')
      const presence = new Presence({ node: a.node, trust: a.trust, reconnect: { minMs: 200, maxMs: 1000 } })
      await presence.stop()
      await presence.start()
      await presence.start()
      assert.equal(presence.isStarted(), true)
      await presence.stop()
      await presence.stop()
      assert.equal(presence.isStarted(), false)
      await a.pairing.stop()
      await a.pairing.stop()
      await a.pairing.start()
      assert.match(await a.pairing.createInvite({ quota: 1 }), /^hf1-/)
      await a.pairing.stop()
      await assert.rejects(a.pairing.createInvite({ quota: 1 }), { name: 'PairingError' })
    })
  })
})
