import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import { encodeCbor } from '../../src/node/cbor.js'
import { decodeInvite, encodeInvite } from '../../src/node/invite-code.js'
import { invitesPath } from '../../src/node/invite-store.js'
import { PAIR_PROTOCOL, REJECT_LINGER_MS, type PairingFailed } from '../../src/node/pairing.js'
import { parseMessage } from '../../src/node/pairing-messages.js'
import { trustListPath, type TrustEntry } from '../../src/node/trust-list.js'
import { eventually, nextEvent, pingPeer, startPeer, type TestPeer } from './holdfast-node-helpers.js'

const GiB = 1024 ** 3

async function trustOnDisk (peer: TestPeer): Promise<TrustEntry[]> {
  const doc = JSON.parse(await readFile(trustListPath(peer.home), 'utf8')) as { peers: TrustEntry[] }
  return doc.peers
}

describe('node/pairing (real nodes on 127.0.0.1)', function () {
  let alice: TestPeer
  let bob: TestPeer

  beforeEach(async () => {
    alice = await startPeer({ name: 'alice', site: 'paris' })
    bob = await startPeer({ name: 'bob', site: 'lyon' })
  })

  afterEach(async () => {
    await alice?.destroy()
    await bob?.destroy()
  })

  it('invite -> accept pairs both sides, with names, sites and quotas on disk', async () => {
    const code = await alice.pairing.createInvite({ quota: 50 * GiB, name: 'bob-nas' })
    assert.match(code, /^hf1-[A-Za-z0-9_-]+$/)
    assert.ok(!code.includes('\n'))
    const decoded = decodeInvite(code)
    assert.equal(decoded.peerId, alice.node.peerId.toString())
    assert.equal(decoded.name, 'alice')
    assert.equal(decoded.site, 'paris')

    const completed = nextEvent<{ entry: TrustEntry }>(alice.pairing, 'pairing:completed', 10_000)
    const entry = await bob.pairing.acceptInvite(code, { quota: 20 * GiB })
    const aliceSide = (await completed).entry

    // bob's view of alice
    assert.equal(entry.peerId, alice.node.peerId.toString())
    assert.equal(entry.name, 'alice')
    assert.equal(entry.site, 'paris')
    assert.equal(entry.quotaGranted, 20 * GiB)
    assert.equal(entry.quotaReceived, 50 * GiB)
    assert.ok(entry.addresses.length > 0)
    // alice's view of bob: her label for him, his site, the quotas both ways, his addresses
    assert.equal(aliceSide.peerId, bob.node.peerId.toString())
    assert.equal(aliceSide.name, 'bob-nas')
    assert.equal(aliceSide.site, 'lyon')
    assert.equal(aliceSide.quotaGranted, 50 * GiB)
    assert.equal(aliceSide.quotaReceived, 20 * GiB)
    assert.ok(aliceSide.addresses.some((a) => a.startsWith('/ip4/127.0.0.1/tcp/')))

    assert.ok(alice.trust.isTrusted(bob.node.peerId))
    assert.ok(bob.trust.isTrusted(alice.node.peerId))
    assert.ok(alice.gate.isTrusted(bob.node.peerId.toString()))
    await alice.trust.flush()
    await bob.trust.flush()
    const aliceDisk = await trustOnDisk(alice)
    const bobDisk = await trustOnDisk(bob)
    assert.deepEqual(aliceDisk.map((e) => [e.peerId, e.name, e.site, e.quotaGranted, e.quotaReceived]), [[bob.node.peerId.toString(), 'bob-nas', 'lyon', 50 * GiB, 20 * GiB]])
    assert.deepEqual(bobDisk.map((e) => [e.peerId, e.name, e.site, e.quotaGranted, e.quotaReceived]), [[alice.node.peerId.toString(), 'alice', 'paris', 20 * GiB, 50 * GiB]])
    // the invite is used, and its secret was never written anywhere but the inviter's home
    assert.deepEqual(alice.pairing.listInvites(), [])
    const invites = JSON.parse(await readFile(invitesPath(alice.home), 'utf8')) as { invites: Array<{ usedBy?: string }> }
    assert.equal(invites.invites[0].usedBy, bob.node.peerId.toString())

    // now trusted: a fresh connection works both ways and serves libp2p's own protocols
    await bob.node.dial(alice.node.getMultiaddrs())
    const rtt = await pingPeer(bob.node, alice.node.peerId)
    assert.ok(rtt >= 0)
  })

  it('the same code fails the second time, on both sides, and adds nothing more', async () => {
    const carol = await startPeer({ name: 'carol' })
    try {
      const code = await alice.pairing.createInvite({ quota: GiB })
      await bob.pairing.acceptInvite(code, { quota: GiB })
      const failed = nextEvent<PairingFailed>(alice.pairing, 'pairing:failed', 10_000)
      await assert.rejects(carol.pairing.acceptInvite(code, { quota: GiB }), (err: Error) => {
        assert.equal(err.name, 'PairingError')
        assert.match(err.message, /already been used/)
        return true
      })
      const f = await failed
      assert.equal(f.error.name, 'PairingError')
      assert.match(f.error.message, /already used/)
      assert.equal(f.peerId?.toString(), carol.node.peerId.toString())
      assert.deepEqual(alice.trust.list().map((e) => e.peerId), [bob.node.peerId.toString()])
      assert.deepEqual(carol.trust.list(), [])
      // carol's provisional connection was closed
      await sleep(100)
      assert.equal(alice.node.getConnections(carol.node.peerId).length, 0)
    } finally {
      await carol.destroy()
    }
  })

  it('an expired code fails before dialling', async () => {
    const code = await alice.pairing.createInvite({ quota: GiB, expirySeconds: 0.3 })
    await sleep(400)
    await assert.rejects(bob.pairing.acceptInvite(code, { quota: GiB }), { name: 'PairingError', message: /expired/ })
    assert.equal(bob.node.getConnections(alice.node.peerId).length, 0)
    assert.deepEqual(alice.trust.list(), [])
    assert.deepEqual(bob.trust.list(), [])
  })

  it('an expired invite is refused by the inviter even if the code claims otherwise (both sides fail)', async () => {
    const code = await alice.pairing.createInvite({ quota: GiB, expirySeconds: 0.3 })
    await sleep(400)
    const forged = encodeInvite({ ...decodeInvite(code), expires: Date.now() + 3_600_000 })
    const failed = nextEvent<PairingFailed>(alice.pairing, 'pairing:failed', 10_000)
    await assert.rejects(bob.pairing.acceptInvite(forged, { quota: GiB }), { name: 'PairingError', message: /expired/ })
    const f = await failed
    assert.equal(f.error.name, 'PairingError')
    assert.match(f.error.message, /expired/)
    assert.deepEqual(alice.trust.list(), [])
    assert.deepEqual(bob.trust.list(), [])
  })

  it('a wrong secret fails on both sides and adds nothing', async () => {
    const code = await alice.pairing.createInvite({ quota: GiB })
    const invite = decodeInvite(code)
    const secret = new Uint8Array(invite.secret)
    secret[0] ^= 0xff
    const tampered = encodeInvite({ ...invite, secret })
    const failed = nextEvent<PairingFailed>(alice.pairing, 'pairing:failed', 10_000)
    await assert.rejects(bob.pairing.acceptInvite(tampered, { quota: GiB }), (err: Error) => {
      assert.equal(err.name, 'PairingError')
      assert.match(err.message, /wrong invite secret/)
      return true
    })
    const f = await failed
    assert.equal(f.error.name, 'PairingError')
    assert.match(f.error.message, /could not prove/)
    assert.deepEqual(alice.trust.list(), [])
    assert.deepEqual(bob.trust.list(), [])
    // the invite was not burnt by the failed attempt: the genuine code still works
    await bob.pairing.acceptInvite(code, { quota: GiB })
    assert.ok(alice.trust.isTrusted(bob.node.peerId))
  })

  it('pending invites survive a restart of the inviter', async () => {
    const code = await alice.pairing.createInvite({ quota: GiB })
    const home = alice.home
    await alice.stop()
    alice = await startPeer({ name: 'alice', site: 'paris', home })
    // same identity, new port: give bob the new address in a fresh code body
    const fresh = encodeInvite({ ...decodeInvite(code), addrs: alice.node.getMultiaddrs().map((a) => a.toString()) })
    const entry = await bob.pairing.acceptInvite(fresh, { quota: GiB })
    assert.equal(entry.peerId, alice.node.peerId.toString())
    assert.ok(alice.trust.isTrusted(bob.node.peerId))
  })
})

describe('node/pairing: codes and messages', () => {
  const valid = {
    id: '00112233445566778899aabbccddeeff',
    peerId: '12D3KooWHs313QQiuqKCQFPJ3oDDbkK51BqTCzZU5DV29mYbDzpH',
    addrs: ['/ip4/192.168.1.10/tcp/4801', '/ip4/127.0.0.1/tcp/4801'],
    secret: new Uint8Array(32).fill(7),
    expires: 1_900_000_000_000,
    name: 'alice',
    site: 'paris'
  }

  it('an invite code round-trips and is one line', () => {
    const code = encodeInvite(valid)
    assert.match(code, /^hf1-[A-Za-z0-9_-]+$/)
    assert.deepEqual(decodeInvite(`  ${code}\n`), valid)
  })

  it('damaged codes are PairingErrors', () => {
    const code = encodeInvite(valid)
    const bad = (c: string, pattern: RegExp): void => {
      assert.throws(() => decodeInvite(c), (err: Error) => { assert.equal(err.name, 'PairingError'); assert.match(err.message, pattern); return true })
    }
    bad(code.slice(4), /should start with "hf1-"/)
    bad(code.slice(0, code.length - 10), /damaged/)
    bad(code + '!', /base64url/)
    bad('hf1-' + Buffer.from(encodeCbor({ v: 2 })).toString('base64url'), /version 2 is not supported/)
    bad('hf1-' + Buffer.from(encodeCbor({ v: 1, x: 1 })).toString('base64url'), /unknown field "x"/)
    assert.throws(() => encodeInvite({ ...valid, secret: new Uint8Array(16) }), { name: 'PairingError', message: /secret/ })
    assert.throws(() => encodeInvite({ ...valid, peerId: 'nope' }), { name: 'PairingError', message: /peer id/ })
  })

  it('parseMessage accepts exactly the protocol messages', () => {
    const nonce = new Uint8Array(32)
    assert.deepEqual(parseMessage(encodeCbor({ t: 'challenge', nonce })), { t: 'challenge', nonce })
    const rejects = (v: unknown, pattern: RegExp): void => {
      assert.throws(() => parseMessage(v instanceof Uint8Array ? v : encodeCbor(v)), (err: Error) => { assert.equal(err.name, 'PairingError'); assert.match(err.message, pattern); return true })
    }
    rejects(new Uint8Array([0xff, 0x00]), /not valid CBOR/)
    rejects([1, 2], /not a map/)
    rejects({ t: 'bogus' }, /unknown message type/)
    rejects({ t: 'challenge', nonce: new Uint8Array(31) }, /"nonce" must be 32 bytes/)
    rejects({ t: 'challenge', nonce, extra: 1 }, /unexpected field "extra"/)
    rejects({ t: 'proof', mac: nonce, name: 'x', site: 'y', quota: -1, addrs: [] }, /quota/)
    rejects({ t: 'proof', mac: nonce, name: '', site: 'y', quota: 1, addrs: [] }, /"name"/)
    rejects({ t: 'proof', mac: nonce, name: 'x', site: 'y', quota: 1, addrs: ['nope'] }, /invalid multiaddr/)
    rejects({ t: 'reject', reason: 'because' }, /unknown reject reason/)
  })

  it('malformed messages on the wire reset the stream, never crash the inviter', async () => {
    const alice = await startPeer({ name: 'alice' })
    const bob = await startPeer({ name: 'bob' })
    const other = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    try {
      const code = await alice.pairing.createInvite({ quota: 1 })
      const failures: Error[] = []
      alice.pairing.addEventListener('pairing:failed', (e) => { failures.push(e.detail.error) })
      const attempts: Array<(lp: ReturnType<typeof lpStream>) => Promise<void>> = [
        async (lp) => { await lp.write(new Uint8Array([0xff, 0x00, 0x13])) }, // not CBOR
        async (lp) => { await lp.write(encodeCbor({ t: 'hello', invite: new Uint8Array(3), nonce: new Uint8Array(32) })) }, // bad field
        async (lp) => { await lp.unwrap().send(new Uint8Array([0x80, 0x80, 0x40])) }, // length prefix: 1 MiB > bound
        async (lp) => { await lp.write(encodeCbor({ t: 'done' })) } // out of order
      ]
      for (const attempt of attempts) {
        const before = failures.length
        const stream = await other.dialProtocol(alice.node.getMultiaddrs(), PAIR_PROTOCOL)
        const lp = lpStream(stream)
        await attempt(lp)
        // the inviter answers by resetting the stream: reading fails
        await assert.rejects(lp.read({ signal: AbortSignal.timeout(5000) }))
        await eventually(() => failures.length === before + 1, 5000, 'the failure reported')
        assert.equal(failures.at(-1)?.name, 'PairingError')
        // and closes the stranger's provisional connection
        await eventually(() => other.getConnections(alice.node.peerId).length === 0, 5000, 'the connection closed')
      }
      assert.match(failures[0].message, /not valid CBOR/)
      assert.match(failures[1].message, /"invite" must be 16 bytes/)
      assert.match(failures[2].message, /larger than 4096 bytes/)
      assert.match(failures[3].message, /expected "hello", got "done"/)
      // alice is unharmed and the invite still works
      assert.deepEqual(alice.trust.list(), [])
      await bob.pairing.acceptInvite(code, { quota: 1 })
      assert.ok(alice.trust.isTrusted(bob.node.peerId))
    } finally {
      await other.stop()
      await alice.destroy()
      await bob.destroy()
    }
  })

  it('a reject waits for the acceptor: the stranger\'s connection stays until it has read the reason and ended the stream', async () => {
    const alice = await startPeer({ name: 'alice' })
    const other = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    try {
      await alice.pairing.createInvite({ quota: 1 }) // opens the invite window
      const failed = nextEvent<PairingFailed>(alice.pairing, 'pairing:failed', 10_000)
      const stream = await other.dialProtocol(alice.node.getMultiaddrs(), PAIR_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(encodeCbor({ t: 'hello', invite: new Uint8Array(16), nonce: new Uint8Array(32) }))
      // a slow acceptor has not read the reject yet: the inviter must not close the connection under it
      // (a close that times out is an abort, which resets TCP and drops the unread reject)
      await sleep(300)
      assert.equal(other.getConnections(alice.node.peerId).length, 1, 'the connection is still open')
      assert.deepEqual(parseMessage((await lp.read({ signal: AbortSignal.timeout(5000) })).subarray()), { t: 'reject', reason: 'unknown-invite' })
      // once the acceptor ends the stream, the inviter closes the provisional connection (not after the linger bound)
      const ended = Date.now()
      await stream.close()
      await eventually(() => other.getConnections(alice.node.peerId).length === 0, 5000, 'the connection closed')
      assert.ok(Date.now() - ended < REJECT_LINGER_MS, 'closed when the stream ended')
      assert.match((await failed).error.message, /unknown invite/)
    } finally {
      await other.stop()
      await alice.destroy()
    }
  })
})
