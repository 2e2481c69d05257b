import assert from 'node:assert/strict'
import { readdir, readFile, rm } from 'node:fs/promises'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { join } from 'node:path'
import type { Libp2p, Stream } from '@libp2p/interface'
import { PeerShardStore, StoredByRecorder } from '../../src/peer/peer-shard-store.js'
import { HostStore } from '../../src/host/host-store.js'
import { ShardService, ShardServiceInit, shardService } from '../../src/host/shard-service.js'
import { hashName } from '../../src/store/hash-name.js'
import { PeerNotTrustedError } from '../../src/errors.js'
import { StoreUsage } from '../../src/store/shard-store.js'
import { MAX_CONTROL_FRAME, SHARD_PROTOCOL, StreamReader, encodeFrame, encodeVarint, sendBytes, sendMessage } from '../../src/protocol/index.js'
import { collect, object, rejectsNamed, shardStoreSuite } from './store-suite.js'
import { BIG_QUOTA, Host, closedStatus, introduce, makeNode, startHost, tempHome } from './libp2p-helpers.js'

shardStoreSuite('PeerShardStore', async () => {
  const host = await startHost()
  const client = await makeNode()
  await introduce(client, host.node)
  const store = new PeerShardStore(client, host.node.peerId, { timeout: 10_000 })
  return {
    store,
    breakStore: async () => { await host.node.stop() },
    cleanup: async () => {
      await client.stop()
      await host.destroy()
    }
  }
})

/** A host and one client node that knows where it is. */
describe('shard protocol between two nodes', () => {
  let host: Host
  let client: Libp2p
  let store: PeerShardStore

  beforeEach(async () => {
    host = await startHost()
    client = await makeNode()
    await introduce(client, host.node)
    store = new PeerShardStore(client, host.node.peerId, { timeout: 10_000 })
  })

  afterEach(async () => {
    await store.close()
    await client.stop()
    await host.destroy()
  })

  const owner = (): string => client.peerId.toString()

  async function rawStream (): Promise<Stream> {
    return await client.dialProtocol(host.node.peerId, SHARD_PROTOCOL)
  }

  /** The host still answers a well-formed request after whatever the test did. */
  async function hostStillServes (): Promise<void> {
    const o = object(1000)
    await store.put('shard', o.name, o.data)
    assert.deepEqual(Buffer.from(await store.get('shard', o.name)), o.data)
  }

  it('stores the objects under the client\'s peer id on the host', async () => {
    const o = object(5000)
    await store.put('snapshot', o.name, o.data)
    assert.equal(store.id, `peer:${host.node.peerId.toString()}`)
    assert.deepEqual(await host.store.get(owner(), 'snapshot', o.name), o.data)
    assert.deepEqual(host.store.hostedFor(owner()), { objects: 1, bytes: 5000 })
    assert.deepEqual(await store.peerUsage(), { objects: 1, bytes: 5000, quota: BIG_QUOTA })
  })

  it('round-trips a 24 MiB object (many drains and pauses on both sides)', async () => {
    const o = object(24 * 1024 * 1024)
    await store.put('shard', o.name, o.data)
    const got = await store.get('shard', o.name)
    assert.equal(got.length, o.data.length)
    assert.equal(hashName(got), o.name)
  })

  it('a put whose bytes do not match the name -> IntegrityError, nothing kept on the host', async () => {
    const o = object(3000)
    const wrong = object().name
    await rejectsNamed(() => store.put('shard', wrong, o.data), 'IntegrityError')
    assert.equal(await store.has('shard', wrong), false)
    assert.deepEqual(host.store.hostedFor(owner()), { objects: 0, bytes: 0 })
    assert.deepEqual(await readdir(join(host.home, 'shards', '.tmp')), [])
    await hostStillServes()
  })

  it('an object above the protocol limit is refused before dialling (TooLargeError)', async () => {
    const big = new Uint8Array(64 * 1024 * 1024 + 1)
    await rejectsNamed(() => store.put('shard', object().name, big), 'TooLargeError')
  })

  it('a ledger on the owner side follows puts, deletes, quarantines, releases and usage replies', async () => {
    const calls: Array<[string, string, StoreUsage]> = []
    const ledger: StoredByRecorder = {
      recordStoredBy: async (peer, usage) => { calls.push(['record', peer, usage]) },
      addStoredBy: async (peer, delta) => { calls.push(['add', peer, delta]) }
    }
    const s = new PeerShardStore(client, host.node.peerId, { ledger })
    const hostId = host.node.peerId.toString()
    const o = object(700)
    await s.put('shard', o.name, o.data)
    await s.put('shard', o.name, o.data) // already there: no bytes sent, nothing to record
    await s.delete('shard', o.name)
    await s.delete('shard', o.name) // nothing freed
    await s.usage()
    // quarantine frees the owner's usage on the host; release counts the object again
    const q = object(300)
    await s.put('shard', q.name, q.data)
    await s.quarantine!('shard', q.name, 60_000)
    assert.equal(await s.release!('shard', q.name), true)
    assert.equal(await s.release!('shard', q.name), false) // nothing in quarantine any more: no usage asked
    assert.deepEqual(calls, [
      ['add', hostId, { objects: 1, bytes: 700 }],
      ['add', hostId, { objects: -1, bytes: -700 }],
      ['record', hostId, { objects: 0, bytes: 0 }],
      ['add', hostId, { objects: 1, bytes: 300 }],
      ['add', hostId, { objects: -1, bytes: -300 }],
      ['record', hostId, { objects: 1, bytes: 300 }]
    ])
    await s.close()
  })

  describe('a malformed request resets only its stream; the host keeps serving', () => {
    const cases: Array<[string, () => Uint8Array]> = [
      ['bytes that are not CBOR', () => Uint8Array.from([3, 0xff, 0xfe, 0xfd])],
      ['an oversized frame length (refused before its body)', () => encodeVarint(MAX_CONTROL_FRAME + 1)],
      ['a length prefix longer than any allowed frame needs', () => Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])],
      ['a wrong kind', () => encodeFrame({ op: 'get', kind: 'bogus', name: object().name })],
      ['an unknown op', () => encodeFrame({ op: 'format', kind: 'shard' })],
      ['a name that is not 64 lowercase hex digits', () => encodeFrame({ op: 'has', kind: 'shard', name: '../../etc/passwd' })],
      ['a negative offset', () => encodeFrame({ op: 'get', kind: 'shard', name: object().name, offset: -1 })],
      ['a fractional size', () => encodeFrame({ op: 'put', kind: 'shard', name: object().name, size: 1.5 })],
      ['an announced size above the object limit', () => encodeFrame({ op: 'put', kind: 'shard', name: object().name, size: 64 * 1024 * 1024 + 1 })],
      ['an extra field', () => encodeFrame({ op: 'usage', admin: true })],
      ['a __proto__ field', () => encodeFrame(new Map<string, unknown>([['op', 'usage'], ['__proto__', { op: 'delete' }]]))],
      ['two requests on one stream', () => Buffer.concat([encodeFrame({ op: 'usage' }), encodeFrame({ op: 'usage' })])]
    ]
    for (const [what, bytes] of cases) {
      it(what, async () => {
        const stream = await rawStream()
        stream.send(bytes())
        await stream.close()
        assert.equal(await closedStatus(stream), 'reset')
        await hostStillServes()
      })
    }

    it('garbage that never ends the frame: reset when the request timeout passes', async () => {
      await host.service.stop()
      const service = new ShardService(host.node, { store: host.store, requestTimeout: 300 })
      await service.start()
      try {
        const stream = await rawStream()
        stream.send(Uint8Array.from([100, 1, 2])) // a frame of 100 bytes, 2 of them sent, then silence
        assert.equal(await closedStatus(stream, 5000), 'reset')
        await hostStillServes()
      } finally {
        await service.stop()
      }
    })

    it('a put that sends more bytes than announced: reset, nothing kept', async () => {
      const o = object(1000)
      const stream = await rawStream()
      const reader = new StreamReader(stream)
      await sendMessage(stream, { op: 'put', kind: 'shard', name: o.name, size: o.data.length })
      assert.deepEqual(await reader.readMessage(MAX_CONTROL_FRAME), new Map<string, unknown>([['ok', true], ['send', true]]))
      await sendBytes(stream, Buffer.concat([o.data, Buffer.from('extra')]))
      await stream.close()
      assert.equal(await closedStatus(stream), 'reset')
      reader.dispose()
      assert.equal(await store.has('shard', o.name), false)
      assert.deepEqual(host.store.hostedFor(owner()), { objects: 0, bytes: 0 })
      await hostStillServes()
    })

    it('a put that ends before its announced bytes: nothing kept, the quota reservation released', async () => {
      await host.service.stop()
      const quota = 10_000
      const small = await HostStore.open(join(host.home, 'small'), { quotaFor: () => quota, durable: false })
      const service = new ShardService(host.node, { store: small })
      await service.start()
      try {
        const o = object(8000)
        const stream = await rawStream()
        const reader = new StreamReader(stream)
        await sendMessage(stream, { op: 'put', kind: 'shard', name: o.name, size: o.data.length })
        await reader.readMessage(MAX_CONTROL_FRAME)
        await sendBytes(stream, o.data.subarray(0, 3000))
        await stream.close()
        assert.notEqual(await closedStatus(stream), 'still open')
        reader.dispose()
        // the 8000 bytes reserved for it are free again: a put of the whole quota fits
        const whole = object(quota)
        await store.put('shard', whole.name, whole.data)
        assert.deepEqual(small.hostedFor(owner()), { objects: 1, bytes: quota })
        assert.equal(await store.has('shard', o.name), false)
        assert.deepEqual(await readdir(join(host.home, 'small', 'shards', '.tmp')), [])
      } finally {
        await service.stop()
        await small.close()
      }
    })
  })

  describe('ShardService lifecycle', () => {
    it('start and stop are harmless to repeat; stop before start does nothing', async () => {
      const service = new ShardService(host.node, { store: host.store })
      await service.stop()
      assert.equal(service.isStarted(), false)
      await host.service.stop()
      await host.service.stop()
      assert.equal(host.service.isStarted(), false)
      await rejectsNamed(() => store.has('shard', object().name), 'StoreUnavailableError') // protocol no longer offered
      await host.service.start()
      await host.service.start()
      assert.equal(host.service.isStarted(), true)
      await hostStillServes()
    })

    it('stop aborts a request in flight: its stream is reset, nothing is kept, nothing is left in .tmp', async () => {
      const o = object(200_000)
      const stream = await rawStream()
      const reader = new StreamReader(stream)
      await sendMessage(stream, { op: 'put', kind: 'shard', name: o.name, size: o.data.length })
      await reader.readMessage(MAX_CONTROL_FRAME)
      await sendBytes(stream, o.data.subarray(0, 100_000))
      // wait for the host to be receiving
      for (let i = 0; i < 100 && host.service.activeRequests === 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
      assert.equal(host.service.activeRequests, 1)
      const started = Date.now()
      await host.service.stop()
      assert.ok(Date.now() - started < 2000, 'stop waited for the request instead of aborting it')
      assert.equal(host.service.activeRequests, 0)
      assert.equal(await closedStatus(stream), 'reset')
      reader.dispose()
      assert.deepEqual(host.store.hostedFor(owner()), { objects: 0, bytes: 0 })
      assert.deepEqual(await readdir(join(host.home, 'shards', '.tmp')), [])
    })
  })

  it('a failure on the host side goes back as a bare StoreUnavailableError and is reported to onError', async () => {
    await host.service.stop()
    const reported: Array<[string, string]> = []
    const failing = new ShardService(host.node, {
      store: {
        ...bindAll(host.store),
        has: async () => { throw new Error('EIO: i/o error, stat \'/srv/secret/path\'') }
      },
      onError: (err, peer) => { reported.push([(err as Error).message, peer]) }
    })
    await failing.start()
    try {
      await assert.rejects(store.has('shard', object().name), (err: Error) => {
        assert.equal(err.name, 'StoreUnavailableError')
        assert.doesNotMatch(err.message, /secret/)
        return true
      })
      await rejectsNamed(() => store.get('shard', object().name), 'NotFoundError') // a refusal, not reported
      const stream = await rawStream()
      stream.send(Uint8Array.from([1, 0xff]))
      await stream.close()
      assert.equal(await closedStatus(stream), 'reset')
      // a peer that hangs up before asking anything did nothing wrong: not reported
      const empty = await rawStream()
      await empty.close()
      await closedStatus(empty)
      assert.equal(reported.length, 2, JSON.stringify(reported))
      assert.match(reported[0][0], /EIO/)
      assert.equal(reported[0][1], owner())
      assert.match(reported[1][0], /malformed message/)
    } finally {
      await failing.stop()
    }
  })

  it('a refusal is not reported even when the peer hung up before it could be answered (a node finishing a pairing asks again)', async () => {
    await host.service.stop()
    const reported: string[] = []
    let asked!: () => void
    const arrived = new Promise<void>(resolve => { asked = resolve })
    let refuse!: () => void
    const refused = new Promise<void>(resolve => { refuse = resolve })
    const slow = new ShardService(host.node, {
      store: {
        ...bindAll(host.store),
        beginPut: async () => {
          asked()
          await refused
          throw new PeerNotTrustedError(`peer ${owner()} is not trusted by this host`)
        }
      },
      onError: (err) => { reported.push((err as Error).message) }
    })
    await slow.start()
    try {
      const o = object()
      const stream = await rawStream()
      await sendMessage(stream, { op: 'put', kind: 'shard', name: o.name, size: o.data.length })
      await arrived
      stream.abort(new Error('the asker gave up'))
      await new Promise(resolve => setTimeout(resolve, 200)) // the reset reaches the host before its refusal
      refuse()
      for (let i = 0; i < 100 && slow.activeRequests > 0; i++) await new Promise(resolve => setTimeout(resolve, 10))
      assert.equal(slow.activeRequests, 0)
      assert.deepEqual(reported, [])
      assert.equal(await host.store.has(owner(), 'shard', o.name), false)
    } finally {
      await slow.stop()
    }
  })

  describe('trust and quota over the wire', () => {
    it('an untrusted peer can neither put, get, has, list, delete nor ask its usage (PeerNotTrustedError)', async () => {
      const o = object()
      await host.store.put(owner(), 'shard', o.name, o.data) // stored while it was trusted
      await host.service.stop()
      const distrusting = new ShardService(host.node, {
        store: await reopenWith(host, peer => peer === owner() ? undefined : BIG_QUOTA)
      })
      await distrusting.start()
      try {
        const fresh = object()
        await rejectsNamed(() => store.put('shard', fresh.name, fresh.data), 'PeerNotTrustedError')
        await rejectsNamed(() => store.get('shard', o.name), 'PeerNotTrustedError')
        await rejectsNamed(() => store.get('shard', o.name, { offset: 0, length: 1 }), 'PeerNotTrustedError')
        await rejectsNamed(() => store.has('shard', o.name), 'PeerNotTrustedError')
        await rejectsNamed(() => collect(store.list('shard')), 'PeerNotTrustedError')
        await rejectsNamed(() => store.delete('shard', o.name), 'PeerNotTrustedError')
        await rejectsNamed(() => store.usage(), 'PeerNotTrustedError')
        // nothing changed
        assert.deepEqual(host.store.hostedFor(owner()), { objects: 1, bytes: o.data.length })
        const dir = join(host.home, 'shards', owner(), 'shard')
        assert.deepEqual(await readFile(join(dir, o.name.slice(0, 2), o.name)), o.data)
        assert.deepEqual((await readdir(dir, { recursive: true })).filter(f => f.includes(fresh.name)), [])
        // another, trusted peer is served
        const other = await makeNode()
        try {
          await introduce(other, host.node)
          const otherStore = new PeerShardStore(other, host.node.peerId)
          await otherStore.put('shard', fresh.name, fresh.data)
          assert.deepEqual(await collect(otherStore.list('shard')), [fresh.name])
        } finally {
          await other.stop()
        }
      } finally {
        await distrusting.stop()
      }
    })

    it('a put over the quota -> QuotaExceededError before any byte is sent; usage unchanged', async () => {
      await host.service.stop()
      const limited = new ShardService(host.node, { store: await reopenWith(host, () => 1000) })
      await limited.start()
      try {
        const a = object(600)
        const b = object(600)
        await store.put('shard', a.name, a.data)
        await rejectsNamed(() => store.put('shard', b.name, b.data), 'QuotaExceededError')
        await assert.rejects(store.put('shard', b.name, b.data), /quota exceeded/)
        assert.deepEqual(await store.peerUsage(), { objects: 1, bytes: 600, quota: 1000 })
        assert.equal(await store.has('shard', b.name), false)
        // putting what is there already costs nothing
        await store.put('shard', a.name, a.data)
        await store.delete('shard', a.name)
        await store.put('shard', b.name, b.data)
        assert.deepEqual(await store.usage(), { objects: 1, bytes: 600 })
      } finally {
        await limited.stop()
      }
    })
  })
})

/** Closes the host's store and reopens it with another quota lookup (the fixture's destroy closes it again). */
async function reopenWith (host: Host, quotaFor: (peer: string) => number | undefined): Promise<HostStore> {
  await host.store.close()
  host.store = await HostStore.open(host.home, { quotaFor, durable: false })
  return host.store
}

describe('shardService as a libp2p service', () => {
  it('starts and stops with its node and serves the node\'s peers', async () => {
    const home = await tempHome()
    const store = await HostStore.open(home, { quotaFor: () => BIG_QUOTA, durable: false })
    const node = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { shards: shardService({ store }) }
    })
    const client = await makeNode()
    try {
      assert.equal(node.services.shards.isStarted(), true)
      await introduce(client, node)
      const peerStore = new PeerShardStore(client, node.peerId)
      const o = object(1234)
      await peerStore.put('shard', o.name, o.data)
      assert.deepEqual(Buffer.from(await peerStore.get('shard', o.name)), o.data)
      await node.stop()
      assert.equal(node.services.shards.isStarted(), false)
      await rejectsNamed(() => peerStore.has('shard', o.name), 'StoreUnavailableError')
    } finally {
      await client.stop()
      await node.stop()
      await store.close()
      await rm(home, { recursive: true, force: true })
    }
  })
})

describe('PeerShardStore against misbehaving or silent peers', () => {
  let fake: Libp2p
  let client: Libp2p

  beforeEach(async () => {
    fake = await makeNode()
    client = await makeNode()
    await introduce(client, fake)
  })

  afterEach(async () => {
    await client.stop()
    await fake.stop()
  })

  /** The fake host reads the request, then answers with `frames` (raw bytes) and ends its side. */
  async function answerWith (...frames: Uint8Array[]): Promise<void> {
    await fake.handle(SHARD_PROTOCOL, (stream) => {
      void (async () => {
        const reader = new StreamReader(stream)
        try {
          await reader.readMessage(MAX_CONTROL_FRAME)
          for (const f of frames) stream.send(f)
          await stream.close()
        } catch {
          stream.abort(new Error('fake host failed'))
        } finally {
          reader.dispose()
        }
      })()
    })
  }

  it('a peer that never answers -> StoreUnavailableError after the timeout', async () => {
    await fake.handle(SHARD_PROTOCOL, () => {}) // takes the stream and says nothing
    const store = new PeerShardStore(client, fake.peerId, { timeout: 300 })
    const started = Date.now()
    await rejectsNamed(() => store.has('shard', object().name), 'StoreUnavailableError')
    await rejectsNamed(() => collect(store.list('shard')), 'StoreUnavailableError')
    assert.ok(Date.now() - started < 3000)
  })

  it('a peer that does not speak the protocol -> StoreUnavailableError', async () => {
    const store = new PeerShardStore(client, fake.peerId, { timeout: 2000 })
    await rejectsNamed(() => store.get('shard', object().name), 'StoreUnavailableError')
  })

  it('a peer nobody knows how to reach -> StoreUnavailableError', async () => {
    const stranger = await makeNode()
    const id = stranger.peerId
    await stranger.stop()
    const store = new PeerShardStore(client, id, { timeout: 2000 })
    await rejectsNamed(() => store.usage(), 'StoreUnavailableError')
  })

  it('a get answered with more bytes than asked -> ProtocolError', async () => {
    await answerWith(encodeFrame({ ok: true, size: 11 }), new Uint8Array(11))
    const store = new PeerShardStore(client, fake.peerId)
    await rejectsNamed(() => store.get('shard', object().name, { offset: 0, length: 10 }), 'ProtocolError')
  })

  it('a get whose bytes go on past the announced size -> ProtocolError', async () => {
    await answerWith(encodeFrame({ ok: true, size: 4 }), new Uint8Array(8))
    const store = new PeerShardStore(client, fake.peerId)
    await rejectsNamed(() => store.get('shard', object().name), 'ProtocolError')
  })

  it('a get whose bytes stop short -> StoreUnavailableError', async () => {
    await answerWith(encodeFrame({ ok: true, size: 100 }), new Uint8Array(40))
    const store = new PeerShardStore(client, fake.peerId)
    await rejectsNamed(() => store.get('shard', object().name), 'StoreUnavailableError')
  })

  it('a malformed reply -> ProtocolError', async () => {
    await answerWith(encodeFrame({ ok: true, has: 'yes' }))
    const store = new PeerShardStore(client, fake.peerId)
    await rejectsNamed(() => store.has('shard', object().name), 'ProtocolError')
  })

  it('an error reply maps to its class; an unknown code is a ProtocolError', async () => {
    await answerWith(encodeFrame({ ok: false, error: { code: 'NotFoundError', message: 'no such object' } }))
    const store = new PeerShardStore(client, fake.peerId)
    await rejectsNamed(() => store.get('shard', object().name), 'NotFoundError')
    await fake.unhandle(SHARD_PROTOCOL)
    await answerWith(encodeFrame({ ok: false, error: { code: 'RootKitError', message: 'x' } }))
    await rejectsNamed(() => store.get('shard', object().name), 'ProtocolError')
  })

  it('a listing out of order or with bad names -> ProtocolError', async () => {
    const [a, b] = [object().name, object().name].sort()
    await answerWith(encodeFrame({ ok: true, names: [b, a], done: true }))
    const store = new PeerShardStore(client, fake.peerId)
    await rejectsNamed(() => collect(store.list('shard')), 'ProtocolError')
    await fake.unhandle(SHARD_PROTOCOL)
    await answerWith(encodeFrame({ ok: true, names: [a.toUpperCase()], done: true }))
    await rejectsNamed(() => collect(store.list('shard')), 'ProtocolError')
  })

  it('close aborts a call in flight (StoreUnavailableError) and later calls fail the same way', async () => {
    await fake.handle(SHARD_PROTOCOL, () => {})
    const store = new PeerShardStore(client, fake.peerId, { timeout: 20_000 })
    const pending = store.has('shard', object().name)
    await new Promise(resolve => setTimeout(resolve, 200))
    await store.close()
    await rejectsNamed(() => pending, 'StoreUnavailableError')
    await rejectsNamed(() => store.has('shard', object().name), 'StoreUnavailableError')
  })

  it('a caller\'s abort during a call -> AbortedError', async () => {
    await fake.handle(SHARD_PROTOCOL, () => {})
    const store = new PeerShardStore(client, fake.peerId, { timeout: 20_000 })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 200)
    await rejectsNamed(() => store.get('shard', object().name, { signal: ac.signal }), 'AbortedError')
  })
})

/** The host store's calls that a ShardService makes, bound, for a test to replace one of them. */
function bindAll (store: HostStore): ShardServiceInit['store'] {
  return {
    beginPut: store.beginPut.bind(store),
    openRead: store.openRead.bind(store),
    has: store.has.bind(store),
    list: store.list.bind(store),
    delete: store.delete.bind(store),
    prove: store.prove.bind(store),
    damaged: store.damaged.bind(store),
    quarantine: store.quarantine.bind(store),
    release: store.release.bind(store),
    usage: store.usage.bind(store)
  }
}
