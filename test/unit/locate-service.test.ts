import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { LOCATE_PROTOCOL, LocateService, MAX_LOCATE_ADDRS, parseLocateAnswer, parseLocateRequest } from '../../src/node/locate-service.js'
import { requestOnce } from '../../src/node/one-exchange.js'
import { Presence } from '../../src/node/presence.js'
import { eventually, startPeer, tempHome, type TestPeer, trustEachOther } from './holdfast-node-helpers.js'

describe('node/locate-service', function () {
  describe('messages', () => {
    it('parses a request for a peer id and refuses anything else', () => {
      const id = '12D3KooWHs313QQiuqKCQFPJ3oDDbkK51BqTCzZU5DV29mYbDzpH'
      assert.deepEqual(parseLocateRequest({ t: 'locate', peer: id }), { t: 'locate', peer: id })
      for (const bad of [null, 'x', [], { t: 'locate' }, { t: 'locate', peer: 'not-a-peer' }, { t: 'locate', peer: id, extra: 1 }, { t: 'where', peer: id }, { t: 'locate', peer: 'x'.repeat(500) }]) {
        assert.throws(() => parseLocateRequest(bad), { name: 'ProtocolError' }, JSON.stringify(bad))
      }
    })

    it('bounds an answer: too many addresses refused, overlong or non-text entries dropped', () => {
      assert.deepEqual(parseLocateAnswer({ t: 'addrs', addrs: ['/ip4/1.2.3.4/tcp/1', 7, 'y'.repeat(300)] }), { t: 'addrs', addrs: ['/ip4/1.2.3.4/tcp/1'] })
      assert.throws(() => parseLocateAnswer({ t: 'addrs', addrs: Array(MAX_LOCATE_ADDRS + 1).fill('/ip4/1.2.3.4/tcp/1') }), { name: 'ProtocolError' })
      assert.throws(() => parseLocateAnswer({ t: 'addrs' }), { name: 'ProtocolError' })
      assert.throws(() => parseLocateAnswer({ t: 'error', message: 'x' }), { name: 'ProtocolError' })
    })
  })

  describe('on real nodes', () => {
    const peers: TestPeer[] = []
    const homes: string[] = []
    const services: LocateService[] = []
    afterEach(async () => {
      for (const s of services.splice(0)) await s.stop()
      for (const p of peers.splice(0)) await p.stop()
      for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true })
    })
    async function peer (name: string, opts: { home?: string, config?: Record<string, unknown>, identifyOnConnect?: boolean, identifyAgainMs?: number } = {}): Promise<TestPeer & { locator: LocateService }> {
      const home = opts.home ?? await tempHome()
      if (!homes.includes(home)) homes.push(home)
      // no DHT anywhere: only the locate protocol can find a peer that moved
      const p = await startPeer({ name, home, config: { dht: false, ...opts.config }, identifyOnConnect: opts.identifyOnConnect })
      peers.push(p)
      const locator = new LocateService({ node: p.node, gate: p.gate, timeoutMs: 3000, identify: p.node.services.identify, identifyAgainMs: opts.identifyAgainMs })
      await locator.start()
      services.push(locator)
      return Object.assign(p, { locator })
    }

    it('finds a trusted peer that moved through a peer it reconnected to, where no DHT can', async function () {
      this.timeout(60_000)
      const c = await peer('c')
      const a = await peer('a')
      const bHome = await tempHome()
      homes.push(bHome)
      let b = await peer('b', { home: bHome })
      const bId = b.node.peerId.toString()
      await trustEachOther(a, c)
      await trustEachOther(b, c)
      await trustEachOther(a, b)
      const presence = new Presence({ node: a.node, trust: a.trust, dht: false, reconnect: { minMs: 60_000, maxMs: 120_000 }, dialTimeoutMs: 3000, locate: async (p, o) => await a.locator.locate(p, o) })
      a.presence = presence
      await presence.start()
      await eventually(() => presence.isOnline(bId) && presence.isOnline(c.node.peerId), 10_000, 'a connected to b and c')

      await b.stop()
      peers.splice(peers.indexOf(b), 1)
      await eventually(() => !presence.isOnline(bId), 10_000, 'b seen offline')
      // nobody connected knows where b is
      assert.deepEqual(await a.locator.locate(b.node.peerId), [])
      await assert.rejects(presence.reach(bId), { name: 'PeerUnreachableError', message: /unknown to the connected peers/ })

      // b comes back on another port and reconnects to c only; a's known address for b is stale
      const oldAddrs = a.trust.get(bId)!.addresses
      b = await peer('b', { home: bHome })
      assert.notDeepEqual(b.node.getMultiaddrs().map(String).map(s => s.split('/p2p/')[0]), oldAddrs)
      await b.node.dial(c.node.getMultiaddrs())
      await eventually(async () => (await a.locator.locate(b.node.peerId)).length > 0, 10_000, 'c knows b\'s new address')
      const told = (await a.locator.locate(b.node.peerId)).map(String)
      const newPort = b.node.getMultiaddrs()[0].toString().split('/tcp/')[1].split('/')[0]
      assert.ok(told.some(x => x.endsWith(`/tcp/${newPort}`)), `c told a b's new port ${newPort}: ${told.join(', ')}`)
      await presence.reach(bId)
      assert.equal(presence.status(bId)?.via, 'locate')
      assert.ok(a.node.getConnections(b.node.peerId).length > 0)
    })

    it('presence asks the connected peers less often than it dials (locate backoff), and always on reach()', async function () {
      this.timeout(30_000)
      const a = await peer('a')
      const gone = '12D3KooWHs313QQiuqKCQFPJ3oDDbkK51BqTCzZU5DV29mYbDzpH'
      await a.trust.add({ peerId: gone, name: 'gone', site: 'x', addresses: [] })
      const asked: number[] = []
      const presence = new Presence({
        node: a.node,
        trust: a.trust,
        dht: false,
        reconnect: { minMs: 50, maxMs: 100 },
        dialTimeoutMs: 500,
        locateBackoff: { minMs: 1500, maxMs: 3000 },
        random: () => 0.5,
        locate: async () => { asked.push(Date.now()); return [] }
      })
      a.presence = presence
      await presence.start()
      await eventually(() => (presence.status(gone)?.failures ?? 0) >= 8, 10_000, 'eight failed attempts')
      const start = asked[0]
      assert.ok(asked.length >= 1 && asked.length <= 2, `locate asked ${asked.length} times in ${presence.status(gone)?.failures} attempts`)
      await eventually(() => asked.length >= 3, 10_000, 'locate asked again after its backoff')
      assert.ok(asked[1] - start >= 1400, `the second locate waited ${asked[1] - start} ms`)
      assert.ok(asked[2] - asked[1] >= 2900, `the third waited twice as long: ${asked[2] - asked[1]} ms`)
      const before = asked.length
      await assert.rejects(presence.reach(gone), { name: 'PeerUnreachableError' })
      assert.equal(asked.length, before + 1, 'reach() asks at once')
    })

    it('tells nothing about a peer that is not a member, nor about itself', async function () {
      this.timeout(30_000)
      const a = await peer('a')
      const c = await peer('c')
      const stranger = await peer('s')
      await trustEachOther(a, c)
      await trustEachOther(c, stranger)
      await a.node.dial(c.node.getMultiaddrs())
      await stranger.node.dial(c.node.getMultiaddrs())
      const ask = async (target: string): Promise<unknown> => await requestOnce(a.node, c.node.peerId, LOCATE_PROTOCOL, 8192, { t: 'locate', peer: target }, AbortSignal.timeout(5000))
      // c is connected to s, which a does not know: c answers (s is c's member: the DHT would tell a as much)
      // once identify has told c where s listens
      await eventually(async () => parseLocateAnswer(await ask(stranger.node.peerId.toString())).addrs.length > 0, 10_000, 'c answers with s\'s addresses')
      // once c revokes s, s is no member of c's: nothing
      await c.trust.revoke(stranger.node.peerId.toString())
      assert.deepEqual(await ask(stranger.node.peerId.toString()), { t: 'addrs', addrs: [] })
      assert.deepEqual(await ask(c.node.peerId.toString()), { t: 'addrs', addrs: [] })
      // a malformed request is refused: the stream is reset, no answer
      await assert.rejects(requestOnce(a.node, c.node.peerId, LOCATE_PROTOCOL, 8192, { t: 'locate', peer: 'nope' }, AbortSignal.timeout(5000)))
    })

    it('tells where a member listens only once identify completed on the connection, and asks identify again where it did not', async function () {
      this.timeout(60_000)
      // c runs no identify of its own on a new connection: only its locator asking again (after 3 s)
      // tells it where a peer listens, as when the first one fails
      const c = await peer('c', { identifyOnConnect: false, identifyAgainMs: 3000 })
      const a = await peer('a')
      const bHome = await tempHome()
      homes.push(bHome)
      let b = await peer('b', { home: bHome })
      await trustEachOther(a, c)
      await trustEachOther(b, c)
      await trustEachOther(a, b)
      await a.node.dial(c.node.getMultiaddrs())
      const portOf = (p: TestPeer): string => p.node.getMultiaddrs()[0].toString().split('/tcp/')[1].split('/')[0]
      const told = async (): Promise<string[]> => (await a.locator.locate(b.node.peerId)).map(String)
      await b.node.dial(c.node.getMultiaddrs())
      await eventually(async () => (await told()).some(x => x.endsWith(`/tcp/${portOf(b)}`)), 15_000, 'c tells b\'s address once identify was asked again')
      const oldPort = portOf(b)
      // b moves and reconnects to c; c's peer store still holds the old address
      await b.stop()
      peers.splice(peers.indexOf(b), 1)
      await eventually(() => c.node.getConnections(b.node.peerId).length === 0, 10_000, 'c sees b gone')
      b = await peer('b', { home: bHome })
      assert.notEqual(portOf(b), oldPort)
      await b.node.dial(c.node.getMultiaddrs())
      assert.ok((await c.node.peerStore.get(b.node.peerId)).addresses.some(x => x.multiaddr.toString().endsWith(`/tcp/${oldPort}`)), 'c still has the old address')
      // c is connected to b but has not identified the new connection: it tells nothing rather than the old address
      assert.deepEqual(await told(), [])
      // identify asked again: the new address
      await eventually(async () => (await told()).some(x => x.endsWith(`/tcp/${portOf(b)}`)), 15_000, 'c tells b\'s new address')
      assert.ok(!(await told()).some(x => x.endsWith(`/tcp/${oldPort}`)), 'not the old one')
    })

    it('start and stop are idempotent; a stopped locator asks nobody', async () => {
      const a = await peer('a')
      await a.locator.start()
      await a.locator.stop()
      await a.locator.stop()
      assert.equal(a.locator.isStarted(), false)
      assert.deepEqual(await a.locator.locate(a.node.peerId), [])
    })
  })
})
