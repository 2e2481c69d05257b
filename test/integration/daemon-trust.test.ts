import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { ApiClient, ApiError } from '../../src/api/index.js'
import { compareTrees } from '../../scripts/lib/tree-compare.js'
import { decodeInvite, encodeInvite } from '../../src/node/invite-code.js'
import { DHT_PROTOCOL } from '../../src/node/libp2p-node.js'
import { PAIR_PROTOCOL } from '../../src/node/pairing.js'
import { PeerShardStore } from '../../src/peer/peer-shard-store.js'
import { MAX_CONTROL_FRAME, SHARD_PROTOCOL, StreamReader, encodeFrame, encodeVarint, parseGetHeader, sendMessage } from '../../src/protocol/index.js'
import { eventually, startPeer, type TestPeer } from '../unit/holdfast-node-helpers.js'
import { closedStatus } from '../unit/libp2p-helpers.js'
import { collect, object, rejectsNamed } from '../unit/store-suite.js'
import { expectCode, hf, listing, makeTempDir, parseJson, removeDir, writeRandom } from './helpers.js'

/**
 * Trust, quotas and invites with real daemons in separate processes on 127.0.0.1 (ports chosen by the OS):
 * an owner backing up at 1+1 to two hosts, h1 (which invited the owner) and h2 (which accepted the owner's
 * invite, so it never holds an invite of its own). Strangers and a trusted but hostile peer ("mallory") are
 * Holdfast nodes in this process, built with the project's own node builder (createHoldfastNode).
 */
const MiB = 1024 * 1024
const HOST_QUOTA = 1 * MiB

interface PeerRow { peerId: string, name: string, quotaGranted: number, storedForThem: number }
interface SnapshotRow { id: string }

/** The owner's shards kept by a host: [name, path], sorted by name. */
async function ownerShards (host: RunningDaemon, owner: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = []
  const root = join(host.home, 'shards', owner, 'shard')
  let prefixes: string[]
  try { prefixes = await readdir(root) } catch { return out }
  for (const prefix of prefixes.sort()) {
    for (const name of (await readdir(join(root, prefix))).sort()) out.push([name, join(root, prefix, name)])
  }
  return out
}

/** Bytes of every object a host keeps for one owner, all kinds together, counted on disk. */
async function bytesOnDisk (host: RunningDaemon, owner: string): Promise<number> {
  let total = 0
  const walk = async (dir: string): Promise<void> => {
    let names: string[]
    try { names = await readdir(dir) } catch { return }
    for (const name of names) {
      const st = await stat(join(dir, name))
      if (st.isDirectory()) await walk(join(dir, name))
      else total += st.size
    }
  }
  await walk(join(host.home, 'shards', owner))
  return total
}

/** Asserts that every shard file hashes to its own name (it is whole and unaltered). */
async function assertIntact (shards: Array<[string, string]>): Promise<void> {
  for (const [name, path] of shards) {
    assert.equal(createHash('sha256').update(await readFile(path)).digest('hex'), name, `shard ${path} is intact`)
  }
}

/** Calls a route of a daemon's local API as the CLI would; returns its result or its named error. */
async function apiCall (d: RunningDaemon, route: string, body: unknown): Promise<{ result?: unknown, error?: { name: string, message: string } }> {
  const client = await ApiClient.forHome(d.home) ?? assert.fail(`no daemon API in ${d.home}`)
  try {
    return { result: await client.call(route, body) }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    return { error: { name: err.name, message: err.message } }
  }
}

/** The daemon's trust list with usage figures, from its local API (what `peers list --json` prints). */
async function peersOf (d: RunningDaemon): Promise<PeerRow[]> {
  const answer = await apiCall(d, '/peers/list', {})
  assert.ok(Array.isArray(answer.result), `peers list on ${d.home}: ${JSON.stringify(answer)}`)
  return answer.result as PeerRow[]
}

/** Sends raw bytes on a new shard-protocol stream; resolves with how the stream ended and the bytes the host sent. */
async function sendRaw (node: TestPeer['node'], host: PeerId, bytes: Uint8Array): Promise<{ status: string, received: number }> {
  const stream: Stream = await node.dialProtocol(host, SHARD_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  let received = 0
  stream.addEventListener('message', (evt) => { received += evt.data.byteLength })
  stream.send(bytes)
  await stream.close({ signal: AbortSignal.timeout(10_000) }).catch(() => {})
  return { status: await closedStatus(stream, 15_000), received }
}

/** Makes `node` willing to dial `d` (its own gate dials trusted peers only) and tells it where `d` listens. */
async function knowHost (peer: TestPeer, d: RunningDaemon): Promise<PeerId> {
  const id = peerIdFromString(d.peerId)
  if (!peer.trust.isTrusted(id)) await peer.trust.add({ peerId: d.peerId, name: 'host', site: 'somewhere', addresses: d.addresses })
  await peer.node.peerStore.merge(id, { multiaddrs: d.addresses.map(a => multiaddr(a)) })
  return id
}

describe('daemons on 127.0.0.1: strangers, a hostile trusted peer, expired invites and quotas', function () {
  this.timeout(120_000)
  let dir: string
  let owner: RunningDaemon | undefined
  let h1: RunningDaemon | undefined
  let h2: RunningDaemon | undefined
  let stranger: TestPeer | undefined
  let mallory: TestPeer | undefined
  let src: string
  let firstSnapshot: string

  const O = (): RunningDaemon => owner!
  const H1 = (): RunningDaemon => h1!
  const H2 = (): RunningDaemon => h2!

  before(async function () {
    dir = await makeTempDir('trust')
    const names = ['owner', 'h1', 'h2']
    await Promise.all(names.map(async (name) => {
      const home = join(dir, name)
      const args = ['init', '--home', home, '--name', name, '--site', `site-${name}`]
      if (name === 'owner') args.push('--data-shards', '1', '--parity-shards', '1', '--pack-size', '256KiB')
      expectCode(await hf(home, args), 0, `init ${name}`)
      // no mDNS: other test runs on this machine stay out of sight
      await writeFile(join(home, 'node.json'), JSON.stringify({ mdns: false }))
    }))
    const started = await Promise.allSettled(names.map(async name => await startDaemon(join(dir, name), { HOLDFAST_DEBUG: '1' })))
    const ok = started.map(s => s.status === 'fulfilled' ? s.value : undefined)
    ;[owner, h1, h2] = ok
    const failed = started.find(s => s.status === 'rejected')
    if (failed != null) throw (failed as PromiseRejectedResult).reason

    // h1 invites the owner; the owner invites h2. Each host grants the owner 1 MiB.
    const inv1 = await hf(H1().home, ['peers', 'invite', '--quota', '1MiB', '--name', 'owner'])
    expectCode(inv1, 0, 'h1 invite')
    expectCode(await hf(O().home, ['peers', 'accept', inv1.stdout.trim(), '--quota', '10MiB']), 0, 'owner accepts h1')
    const inv2 = await hf(O().home, ['peers', 'invite', '--quota', '10MiB'])
    expectCode(inv2, 0, 'owner invite')
    expectCode(await hf(H2().home, ['peers', 'accept', inv2.stdout.trim(), '--quota', '1MiB', '--name', 'owner']), 0, 'h2 accepts the owner')

    src = join(dir, 'src')
    await mkdir(src, { recursive: true })
    await writeRandom(join(src, 'small.bin'), 100_000)
    await writeFile(join(src, 'note.txt'), 'kept by two friends\n'.repeat(100))
    const r = await hf(O().home, ['backup', '--json', src])
    expectCode(r, 0, 'first backup')
    firstSnapshot = parseJson<{ snapshot: string }>(r, 'backup --json').snapshot

    await mkdir(join(dir, 'stranger'))
    await mkdir(join(dir, 'mallory'))
    stranger = await startPeer({ name: 'stranger', home: join(dir, 'stranger') })
    mallory = await startPeer({ name: 'mallory', home: join(dir, 'mallory') })
  })

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const d of [owner, h1, h2]) if (d != null) console.log(`--- ${d.home}:\n${d.output()}`)
  })

  after(async function () {
    for (const p of [stranger, mallory]) await p?.stop().catch(() => {})
    await Promise.all([owner, h1, h2].map(async d => await d?.stop()))
    await removeDir(dir)
  })

  it('each host keeps a share of the first backup within its quota', async function () {
    for (const h of [H1(), H2()]) {
      const shards = await ownerShards(h, O().peerId)
      assert.ok(shards.length > 0, `${h.home} keeps shards of the owner`)
      await assertIntact(shards)
      const row = (await peersOf(h)).find(p => p.peerId === O().peerId)
      assert.equal(row?.quotaGranted, HOST_QUOTA)
      assert.ok(row.storedForThem > 0 && row.storedForThem <= HOST_QUOTA, JSON.stringify(row))
    }
  })

  it('a stranger dialling a host that holds no invite is refused at the connection: no connection stays, no protocol stream opens', async function () {
    const s = stranger!
    const host = await knowHost(s, H2())
    const before = await listing(join(H2().home, 'shards'))
    const conn = await s.node.dial(host, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
    if (conn != null) await eventually(() => conn.status !== 'open', 5000, 'the host to drop the stranger\'s connection')
    for (const protocol of [SHARD_PROTOCOL, PAIR_PROTOCOL, DHT_PROTOCOL, '/ipfs/id/1.0.0']) {
      await assert.rejects(s.node.dialProtocol(host, protocol, { signal: AbortSignal.timeout(10_000) }), `no ${protocol} stream`)
    }
    await assert.rejects(s.node.services.ping.ping(host, { signal: AbortSignal.timeout(10_000) }), 'no ping')
    const store = new PeerShardStore(s.node, host, { timeout: 10_000 })
    await rejectsNamed(async () => await store.usage(), 'StoreUnavailableError')
    await store.close()
    assert.equal(s.node.getConnections(host).length, 0)
    assert.ok(!(await peersOf(H2())).some(p => p.peerId === s.node.peerId.toString()), 'the host lists no stranger')
    assert.deepEqual(await listing(join(H2().home, 'shards')), before)
  })

  it('during an invite window a stranger\'s provisional connection gets every shard request refused; nothing stored, read, listed or deleted', async function () {
    const s = stranger!
    expectCode(await hf(H1().home, ['peers', 'invite', '--quota', '1MiB']), 0, 'a pending invite on h1')
    const host = await knowHost(s, H1())
    const before = await listing(join(H1().home, 'shards'))
    const shards = await ownerShards(H1(), O().peerId)
    const [victim] = shards[0]
    const conn = await s.node.dial(host, { signal: AbortSignal.timeout(10_000) })
    assert.equal(conn.status, 'open', 'the invite window admits the stranger provisionally')

    const store = new PeerShardStore(s.node, host, { timeout: 10_000 })
    const fresh = object(10_000)
    const refused = 'PeerNotTrustedError'
    await rejectsNamed(async () => await store.put('shard', fresh.name, fresh.data), refused)
    await rejectsNamed(async () => await store.get('shard', victim), refused)
    await rejectsNamed(async () => await store.has('shard', victim), refused)
    await rejectsNamed(async () => await collect(store.list('shard')), refused)
    await rejectsNamed(async () => await collect(store.list('snapshot')), refused)
    await rejectsNamed(async () => await store.delete('shard', victim), refused)
    await rejectsNamed(async () => await store.usage(), refused)
    await store.close()
    // on the wire: the refusal and nothing after it, not a byte of the object
    const stream = await s.node.dialProtocol(host, SHARD_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
    const reader = new StreamReader(stream)
    try {
      await sendMessage(stream, { op: 'get', kind: 'shard', name: victim })
      await stream.close()
      const reply = parseGetHeader(await reader.readMessage(MAX_CONTROL_FRAME, AbortSignal.timeout(10_000)))
      assert.equal(reply.ok ? 'answered' : reply.error.code, refused)
      await reader.expectEnd(AbortSignal.timeout(10_000))
    } finally {
      reader.dispose()
    }

    assert.deepEqual(await listing(join(H1().home, 'shards')), before, 'the host\'s shards are unchanged')
    await assertIntact(shards)
    assert.ok(!(await peersOf(H1())).some(p => p.peerId === s.node.peerId.toString()), 'the stranger is not trusted')
  })

  it('a trusted peer that does not own a shard can neither read, list nor delete it', async function () {
    const m = mallory!
    const inv = await hf(H1().home, ['peers', 'invite', '--quota', '1MiB', '--name', 'mallory'])
    expectCode(inv, 0, 'h1 invites mallory')
    await m.pairing.acceptInvite(inv.stdout.trim(), { quota: 0 })
    const host = await knowHost(m, H1())
    assert.ok((await peersOf(H1())).some(p => p.peerId === m.node.peerId.toString()), 'h1 trusts mallory')

    const shards = await ownerShards(H1(), O().peerId)
    const [victim, victimPath] = shards[0]
    const store = new PeerShardStore(m.node, host, { timeout: 10_000 })
    assert.deepEqual(await collect(store.list('shard')), [], 'mallory lists only its own (empty) namespace')
    assert.deepEqual(await collect(store.list('snapshot')), [])
    assert.equal(await store.has('shard', victim), false)
    await rejectsNamed(async () => await store.get('shard', victim), 'NotFoundError')
    await store.delete('shard', victim) // frees nothing: not mallory's
    assert.deepEqual(await store.usage(), { objects: 0, bytes: 0 })
    await store.close()
    await stat(victimPath)
    assert.deepEqual(await ownerShards(H1(), O().peerId), shards)
    await assertIntact(shards)
  })

  it('malformed shard-protocol messages from a trusted peer reset their stream; the daemon keeps serving', async function () {
    const m = mallory!
    const host = peerIdFromString(H1().peerId)
    const [victim] = (await ownerShards(H1(), O().peerId))[0]
    const before = await listing(join(H1().home, 'shards'))
    const cases: Array<[string, Uint8Array]> = [
      ['bytes that are not CBOR', Uint8Array.from([3, 0xff, 0xfe, 0xfd])],
      ['a truncated CBOR map', Uint8Array.from([2, 0xa3, 0x62])],
      ['an oversized frame', Buffer.concat([encodeVarint(MAX_CONTROL_FRAME + 1), Buffer.alloc(MAX_CONTROL_FRAME + 1, 0xa0)])],
      ['a name of the wrong type', encodeFrame({ op: 'get', kind: 'shard', name: 12345 })],
      ['a size of the wrong type', encodeFrame({ op: 'put', kind: 'shard', name: victim, size: '64' })],
      ['a kind of the wrong type', encodeFrame({ op: 'delete', kind: 1, name: victim })],
      ['an op of the wrong type', encodeFrame({ op: ['usage'] })]
    ]
    for (const [what, bytes] of cases) {
      const r = await sendRaw(m.node, host, bytes)
      assert.deepEqual(r, { status: 'reset', received: 0 }, `${what}: the stream is reset without an answer`)
    }
    assert.equal(H1().process.exitCode, null, 'the daemon still runs')
    assert.deepEqual(await listing(join(H1().home, 'shards')), before, 'nothing was stored or deleted')

    // a legitimate request afterwards is served
    const store = new PeerShardStore(m.node, host, { timeout: 10_000 })
    const o = object(50_000)
    await store.put('shard', o.name, o.data)
    assert.deepEqual(Buffer.from(await store.get('shard', o.name)), o.data)
    assert.deepEqual(await collect(store.list('shard')), [o.name])
    assert.deepEqual(await store.usage(), { objects: 1, bytes: 50_000 })
    await store.close()
  })

  it('an expired invite is refused with a PairingError, by the acceptor and by the inviter itself', async function () {
    const inv = await hf(H1().home, ['peers', 'invite', '--quota', '1MiB', '--expires', '1'])
    expectCode(inv, 0, 'short invite')
    const code = inv.stdout.trim()
    const { expires } = decodeInvite(code)
    assert.ok(expires <= Date.now() + 1500, 'the code carries an absolute expiry one second ahead')
    const wait = expires - Date.now() + 50
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))

    // the acceptor sees the expiry in the code
    const r = await hf(H2().home, ['peers', 'accept', code, '--quota', '1MiB'])
    assert.equal(r.code, 1, r.stderr)
    assert.match(r.stderr, /the invite expired at \d{4}-\d\d-\d\dT/)
    // a code altered to claim a later expiry: the inviter checks the expiry it stored
    const forged = encodeInvite({ ...decodeInvite(code), expires: Date.now() + 3_600_000 })
    const answer = await apiCall(H2(), '/peers/accept', { code: forged, quota: '1MiB' })
    assert.equal(answer.error?.name, 'PairingError', JSON.stringify(answer))
    assert.match(answer.error?.message ?? '', /the invite has expired/)

    assert.ok(!(await peersOf(H1())).some(p => p.peerId === H2().peerId), 'h1 did not add h2')
    assert.ok(!(await peersOf(H2())).some(p => p.peerId === H1().peerId), 'h2 did not add h1')
  })

  it('a backup beyond the hosts\' quotas fails with a quota message, leaves no snapshot, and no host exceeds its quota', async function () {
    const big = join(dir, 'big')
    await mkdir(big, { recursive: true })
    await writeRandom(join(big, 'large.bin'), 3 * MiB)
    const r = await hf(O().home, ['backup', big])
    assert.equal(r.code, 1, `the backup must fail (exit 1)\n${r.stdout}\n${r.stderr}`)
    assert.match(r.stderr, /quota exceeded: \d+ bytes kept and \d+ arriving of 1048576/)

    const snaps = parseJson<SnapshotRow[]>(await hf(O().home, ['snapshots', '--json']), 'snapshots')
    assert.deepEqual(snaps.map(s => s.id), [firstSnapshot], 'only the first snapshot is visible')
    for (const h of [H1(), H2()]) {
      const onDisk = await bytesOnDisk(h, O().peerId)
      assert.ok(onDisk <= HOST_QUOTA, `${h.home} keeps ${onDisk} bytes for the owner, above its quota`)
      const row = (await peersOf(h)).find(p => p.peerId === O().peerId)
      assert.ok(row != null && row.storedForThem === onDisk && row.storedForThem <= row.quotaGranted, JSON.stringify(row))
      assert.deepEqual(await readdir(join(h.home, 'shards', '.tmp')), [], 'no partial object is left')
      await assertIntact(await ownerShards(h, O().peerId))
    }

    // the first snapshot is whole
    const target = join(dir, 'restore')
    expectCode(await hf(O().home, ['restore', firstSnapshot, '--target', target]), 0, 'restore')
    assert.deepEqual(await compareTrees(src, join(target, src)), [])
  })
})
