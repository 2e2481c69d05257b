import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Level } from 'level'
import { HostStore, hostStorePaths } from '../../src/host/host-store.js'
import { OBJECT_KINDS } from '../../src/store/shard-store.js'
import { collect, object, rejectsNamed } from './store-suite.js'
import { tempHome } from './libp2p-helpers.js'

// Owners are peer id strings; any alphanumeric string stands in for one here.
const ALICE = '12D3KooWAlice'
const BOB = '12D3KooWBob'

describe('HostStore', () => {
  let home: string
  let quotas: Map<string, number>
  let store: HostStore
  const quotaFor = (peer: string): number | undefined => quotas.get(peer)

  const open = async (): Promise<HostStore> => await HostStore.open(home, { quotaFor, durable: false })
  const tmpFiles = async (): Promise<string[]> => await readdir(join(home, 'shards', '.tmp'))

  beforeEach(async () => {
    home = await tempHome()
    quotas = new Map([[ALICE, 10_000], [BOB, 10_000]])
    store = await open()
  })

  afterEach(async () => {
    await store.close()
    await rm(home, { recursive: true, force: true })
  })

  it('lays objects out as HOME/shards/<owner>/<kind>/<2 hex>/<name>', async () => {
    assert.deepEqual(hostStorePaths(home), { root: join(home, 'shards'), index: join(home, 'host-index') })
    for (const kind of OBJECT_KINDS) {
      const o = object(100)
      assert.equal(await store.put(ALICE, kind, o.name, o.data), 100)
      assert.deepEqual(await readFile(join(home, 'shards', ALICE, kind, o.name.slice(0, 2), o.name)), o.data)
    }
    assert.deepEqual(await tmpFiles(), [])
  })

  it('get reads whole objects and ranges cut at the end', async () => {
    const o = object(1000)
    await store.put(ALICE, 'shard', o.name, o.data)
    assert.deepEqual(await store.get(ALICE, 'shard', o.name), o.data)
    assert.deepEqual(await store.get(ALICE, 'shard', o.name, { offset: 990, length: 50 }), o.data.subarray(990))
    assert.equal((await store.get(ALICE, 'shard', o.name, { offset: 5000 })).length, 0)
    const reader = await store.openRead(ALICE, 'shard', o.name, { offset: 10, length: 20 })
    assert.equal(reader.size, 20)
    await reader.close()
    await rejectsNamed(() => store.get(ALICE, 'shard', object().name), 'NotFoundError')
    await rejectsNamed(() => store.get(ALICE, 'shard', o.name, { offset: -1 }), 'UsageError')
  })

  it('refuses a put over the quota before any byte is written; usage unchanged, no file left', async () => {
    const a = object(6000)
    const b = object(6000)
    await store.put(ALICE, 'shard', a.name, a.data)
    await assert.rejects(store.beginPut(ALICE, 'shard', b.name, b.data.length), (err: Error) => {
      assert.equal(err.name, 'QuotaExceededError')
      assert.match(err.message, /^quota exceeded: /)
      return true
    })
    await rejectsNamed(() => store.put(ALICE, 'shard', b.name, b.data), 'QuotaExceededError')
    assert.deepEqual(store.hostedFor(ALICE), { objects: 1, bytes: 6000 })
    assert.equal(await store.has(ALICE, 'shard', b.name), false)
    assert.deepEqual(await tmpFiles(), [])
    // exactly the quota fits
    const rest = object(4000)
    await store.put(ALICE, 'shard', rest.name, rest.data)
    assert.deepEqual((await store.usage(ALICE)), { objects: 2, bytes: 10_000, quota: 10_000 })
  })

  it('counts bytes still arriving against the quota, and gives them back when a put is cancelled', async () => {
    const a = object(6000)
    const b = object(6000)
    const pending = await store.beginPut(ALICE, 'shard', a.name, a.data.length)
    assert.ok(pending != null)
    await rejectsNamed(() => store.beginPut(ALICE, 'shard', b.name, b.data.length), 'QuotaExceededError')
    pending.cancel()
    pending.cancel() // harmless twice
    await rejectsNamed(() => pending.write([a.data]), 'UsageError')
    await store.put(ALICE, 'shard', b.name, b.data)
    assert.deepEqual(store.hostedFor(ALICE), { objects: 1, bytes: 6000 })
  })

  it('refuses bytes that do not hash to the name (IntegrityError); nothing kept, reservation released', async () => {
    const o = object(3000)
    const wrong = object().name
    await rejectsNamed(() => store.put(ALICE, 'shard', wrong, o.data), 'IntegrityError')
    assert.equal(await store.has(ALICE, 'shard', wrong), false)
    assert.deepEqual(store.hostedFor(ALICE), { objects: 0, bytes: 0 })
    assert.deepEqual(await tmpFiles(), [])
    const whole = object(10_000)
    await store.put(ALICE, 'shard', whole.name, whole.data)
  })

  it('refuses fewer or more bytes than announced (ProtocolError); nothing kept', async () => {
    const o = object(1000)
    const short = await store.beginPut(ALICE, 'shard', o.name, 1000)
    await rejectsNamed(() => short!.write([o.data.subarray(0, 999)]), 'ProtocolError')
    const long = await store.beginPut(ALICE, 'shard', o.name, 1000)
    await rejectsNamed(() => long!.write([o.data, Buffer.of(1)]), 'ProtocolError')
    assert.equal(await store.has(ALICE, 'shard', o.name), false)
    assert.deepEqual(store.hostedFor(ALICE), { objects: 0, bytes: 0 })
    assert.deepEqual(await tmpFiles(), [])
  })

  it('refuses objects above its limit (TooLargeError) and invalid sizes, owners, kinds and names (UsageError)', async () => {
    const small = await HostStore.open(join(home, 'small'), { quotaFor, durable: false, maxObjectSize: 100 })
    try {
      await rejectsNamed(() => small.beginPut(ALICE, 'shard', object().name, 101), 'TooLargeError')
    } finally {
      await small.close()
    }
    await rejectsNamed(() => store.beginPut(ALICE, 'shard', object().name, -1), 'UsageError')
    await rejectsNamed(() => store.beginPut(ALICE, 'shard', object().name, 1.5), 'UsageError')
    for (const bad of ['', '.tmp', '..', '../x', 'a/b', 'x'.repeat(129)]) {
      await rejectsNamed(() => store.has(bad, 'shard', object().name), 'UsageError')
      await rejectsNamed(() => store.usage(bad), 'UsageError')
    }
    await rejectsNamed(() => store.has(ALICE, 'bogus' as 'shard', object().name), 'UsageError')
    await rejectsNamed(() => store.has(ALICE, 'shard', 'A'.repeat(64)), 'UsageError')
  })

  it('owners are isolated: another owner can neither read, list nor delete an object', async () => {
    const o = object(500)
    await store.put(ALICE, 'shard', o.name, o.data)
    assert.equal(await store.has(BOB, 'shard', o.name), false)
    await rejectsNamed(() => store.get(BOB, 'shard', o.name), 'NotFoundError')
    assert.deepEqual(await collect(store.list(BOB, 'shard')), [])
    assert.equal(await store.delete(BOB, 'shard', o.name), 0)
    assert.deepEqual(await store.get(ALICE, 'shard', o.name), o.data)
    assert.deepEqual(await collect(store.list(ALICE, 'shard')), [o.name])
    // the same object stored by both is kept (and counted) once for each
    await store.put(BOB, 'shard', o.name, o.data)
    assert.equal(await store.delete(ALICE, 'shard', o.name), 500)
    assert.deepEqual(await store.get(BOB, 'shard', o.name), o.data)
    assert.deepEqual(store.hostedFor(ALICE), { objects: 0, bytes: 0 })
    assert.deepEqual(store.hostedFor(BOB), { objects: 1, bytes: 500 })
  })

  it('an untrusted peer (no quota) is refused every call (PeerNotTrustedError)', async () => {
    const o = object()
    await store.put(ALICE, 'shard', o.name, o.data)
    quotas.delete(ALICE)
    await rejectsNamed(() => store.put(ALICE, 'shard', object().name, Buffer.from('x')), 'PeerNotTrustedError')
    await rejectsNamed(() => store.get(ALICE, 'shard', o.name), 'PeerNotTrustedError')
    await rejectsNamed(() => store.has(ALICE, 'shard', o.name), 'PeerNotTrustedError')
    await rejectsNamed(() => collect(store.list(ALICE, 'shard')), 'PeerNotTrustedError')
    await rejectsNamed(() => store.delete(ALICE, 'shard', o.name), 'PeerNotTrustedError')
    await rejectsNamed(() => store.usage(ALICE), 'PeerNotTrustedError')
    assert.deepEqual(store.hostedFor(ALICE), { objects: 1, bytes: o.data.length })
    // a quota of 0 is trust without room
    quotas.set(ALICE, 0)
    assert.equal(await store.has(ALICE, 'shard', o.name), true)
    await rejectsNamed(() => store.put(ALICE, 'shard', object().name, Buffer.from('x')), 'QuotaExceededError')
  })

  it('usage and the ledger follow puts and deletes; puts of the same object count once', async () => {
    const a = object(100)
    const b = object(250)
    await store.put(ALICE, 'shard', a.name, a.data)
    await Promise.all([1, 2, 3].map(async () => await store.put(ALICE, 'index', b.name, b.data)))
    assert.equal(await store.put(ALICE, 'shard', a.name, a.data), 0)
    assert.deepEqual(await store.usage(ALICE), { objects: 2, bytes: 350, quota: 10_000 })
    assert.equal(await store.delete(ALICE, 'shard', a.name), 100)
    assert.equal(await store.delete(ALICE, 'shard', a.name), 0)
    assert.deepEqual(await store.usage(ALICE), { objects: 1, bytes: 250, quota: 10_000 })
    assert.deepEqual(store.owners(), [ALICE])

    await store.ledger.recordStoredBy(BOB, { objects: 3, bytes: 3000 })
    await store.ledger.addStoredBy(BOB, { objects: 1, bytes: 500 })
    await store.ledger.addStoredBy(BOB, { objects: -2, bytes: -1000 })
    const entries = store.ledger.entries().map(e => ({ ...e, storedBy: { objects: e.storedBy.objects, bytes: e.storedBy.bytes } }))
    assert.deepEqual(entries, [
      { peer: ALICE, hosted: { objects: 1, bytes: 250 }, storedBy: { objects: 0, bytes: 0 } },
      { peer: BOB, hosted: { objects: 0, bytes: 0 }, storedBy: { objects: 2, bytes: 2500 } }
    ])
    assert.ok(store.ledger.storedByPeer(BOB).updatedAt > 0)
    assert.deepEqual(store.ledger.hostedFor(ALICE), { objects: 1, bytes: 250 })
  })

  it('the index survives a reopen: usage and ledger figures as they were', async () => {
    const a = object(100)
    await store.put(ALICE, 'shard', a.name, a.data)
    await store.put(BOB, 'key', a.name, a.data)
    await store.ledger.recordStoredBy(BOB, { objects: 7, bytes: 7000 })
    await store.close()
    store = await open()
    assert.deepEqual(await store.usage(ALICE), { objects: 1, bytes: 100, quota: 10_000 })
    assert.deepEqual(await store.usage(BOB), { objects: 1, bytes: 100, quota: 10_000 })
    const bob = store.ledger.storedByPeer(BOB)
    assert.deepEqual({ objects: bob.objects, bytes: bob.bytes }, { objects: 7, bytes: 7000 })
    assert.deepEqual(await store.get(ALICE, 'shard', a.name), a.data)
  })

  it('after an unclean shutdown the usage figures are recounted from the files', async () => {
    const a = object(100)
    const b = object(200)
    await store.put(ALICE, 'shard', a.name, a.data)
    await store.put(ALICE, 'shard', b.name, b.data)
    await store.close()
    // what a crash between a rename and its index write leaves: figures that disagree with the files
    const db = new Level<string, unknown>(join(home, 'host-index'), { valueEncoding: 'json' })
    await db.put('meta!clean', false)
    await db.put(`usage!${ALICE}`, { objects: 9, bytes: 9 })
    await db.put(`usage!${BOB}`, { objects: 1, bytes: 5 })
    await db.close()
    store = await open()
    assert.deepEqual(store.hostedFor(ALICE), { objects: 2, bytes: 300 })
    assert.deepEqual(store.hostedFor(BOB), { objects: 0, bytes: 0 })
  })

  it('removes temporary files left behind at open', async () => {
    await store.close()
    const tmp = join(home, 'shards', '.tmp')
    await writeFile(join(tmp, 'half-written'), 'junk')
    await mkdir(join(tmp, 'odd-dir'))
    store = await open()
    assert.deepEqual(await tmpFiles(), [])
  })

  it('a second open of the same home fails while the first holds it (StoreUnavailableError)', async () => {
    await rejectsNamed(() => open(), 'StoreUnavailableError')
  })

  it('close waits for calls under way, refuses later ones and is harmless twice', async () => {
    const o = object(100)
    let finishSource!: () => void
    const gate = new Promise<void>(resolve => { finishSource = resolve })
    const slowSource = async function * (): AsyncGenerator<Uint8Array> {
      yield o.data.subarray(0, 50)
      await gate
      yield o.data.subarray(50)
    }
    const writing = (await store.beginPut(ALICE, 'shard', o.name, 100))!.write(slowSource())
    const late = (await store.beginPut(ALICE, 'key', o.name, 100))!
    let closed = false
    const closing = store.close().then(() => { closed = true })
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(closed, false, 'close did not wait for the write under way')
    await rejectsNamed(() => late.write([o.data]), 'StoreUnavailableError')
    await rejectsNamed(() => store.has(ALICE, 'shard', o.name), 'StoreUnavailableError')
    await rejectsNamed(() => collect(store.list(ALICE, 'shard')), 'StoreUnavailableError')
    finishSource()
    assert.equal(await writing, 100)
    await closing
    assert.equal(closed, true)
    await store.close()
    store = await open()
    assert.equal(await store.has(ALICE, 'shard', o.name), true)
    assert.equal(await store.has(ALICE, 'key', o.name), false)
    assert.deepEqual(store.hostedFor(ALICE), { objects: 1, bytes: 100 })
  })

  describe('quarantine', () => {
    const DAY = 24 * 3600_000

    it("frees the owner's quota at once; the object waits in HOME/shards/.quarantine until its grace is over", async () => {
      quotas.set(ALICE, 1000)
      const a = object(800)
      await store.put(ALICE, 'shard', a.name, a.data)
      const b = object(500)
      await rejectsNamed(async () => await store.put(ALICE, 'shard', b.name, b.data), 'QuotaExceededError')
      assert.equal(await store.quarantine(ALICE, 'shard', a.name, 7 * DAY), 800)
      assert.deepEqual(store.hostedFor(ALICE), { objects: 0, bytes: 0 })
      assert.equal(store.quarantinedFor(ALICE), 800)
      assert.deepEqual(await readFile(join(home, 'shards', '.quarantine', ALICE, 'shard', a.name)), a.data)
      assert.equal(await store.put(ALICE, 'shard', b.name, b.data), 500)
      assert.equal(await store.purgeQuarantine(Date.now() + 6 * DAY), 0)
      assert.equal(await store.purgeQuarantine(Date.now() + 7 * DAY + 1000), 1)
      assert.equal(store.quarantinedFor(ALICE), 0)
      assert.deepEqual(await readdir(join(home, 'shards', '.quarantine', ALICE, 'shard')), [])
      assert.equal(await store.release(ALICE, 'shard', a.name), false)
    })

    it('release counts the object again, even above the quota (nothing is lost for a quota)', async () => {
      quotas.set(ALICE, 1000)
      const a = object(800)
      await store.put(ALICE, 'shard', a.name, a.data)
      await store.quarantine(ALICE, 'shard', a.name, DAY)
      const b = object(700)
      await store.put(ALICE, 'shard', b.name, b.data)
      assert.equal(await store.release(ALICE, 'shard', a.name), true)
      assert.deepEqual(store.hostedFor(ALICE), { objects: 2, bytes: 1500 })
      assert.deepEqual(await store.get(ALICE, 'shard', a.name), a.data)
      assert.equal(store.quarantinedFor(ALICE), 0)
    })

    it("keeps at most 30 days, and at most the owner's quota in quarantine (the oldest goes first)", async () => {
      quotas.set(ALICE, 1000)
      const objs = [object(400), object(400), object(400)]
      for (const [i, o] of objs.entries()) {
        await store.put(ALICE, 'shard', o.name, o.data)
        // the graces are cut to the same 30 days (deadlines equal within a millisecond): the order of
        // quarantine decides, and it survives a reopen
        await store.quarantine(ALICE, 'shard', o.name, 365 * DAY + i * 1000)
        if (i === 1) { await store.close(); store = await open() }
      }
      assert.equal(store.quarantinedFor(ALICE), 800)
      assert.equal(await store.release(ALICE, 'shard', objs[0].name), false, 'the oldest made room')
      assert.equal(await store.release(ALICE, 'shard', objs[1].name), true)
      await store.quarantine(ALICE, 'shard', objs[1].name, 365 * DAY)
      assert.equal(await store.purgeQuarantine(Date.now() + 31 * DAY), 2)
      // an object larger than the quota is deleted at once
      quotas.set(ALICE, 100)
      const big = object(400)
      await store.put(BOB, 'shard', big.name, big.data)
      quotas.set(BOB, 100)
      assert.equal(await store.quarantine(BOB, 'shard', big.name, DAY), 400)
      assert.equal(await store.release(BOB, 'shard', big.name), false)
    })

    it('owners are isolated, and the quarantine survives a reopen', async () => {
      const a = object(300)
      await store.put(ALICE, 'shard', a.name, a.data)
      await store.quarantine(ALICE, 'shard', a.name, DAY)
      assert.equal(await store.release(BOB, 'shard', a.name), false)
      assert.equal(await store.quarantine(BOB, 'shard', a.name, DAY), 0)
      await store.close()
      store = await open()
      assert.equal(store.quarantinedFor(ALICE), 300)
      assert.equal(await store.release(ALICE, 'shard', a.name), true)
      assert.deepEqual(await store.get(ALICE, 'shard', a.name), a.data)
    })
  })

  it('an aborted signal -> AbortedError, nothing stored', async () => {
    const ac = new AbortController()
    ac.abort()
    const o = object()
    await rejectsNamed(() => store.put(ALICE, 'shard', o.name, o.data, { signal: ac.signal }), 'AbortedError')
    await rejectsNamed(() => collect(store.list(ALICE, 'shard', { signal: ac.signal })), 'AbortedError')
    const pending = await store.beginPut(ALICE, 'shard', o.name, o.data.length)
    await rejectsNamed(() => pending!.write([o.data], { signal: ac.signal }), 'AbortedError')
    assert.equal(await store.has(ALICE, 'shard', o.name), false)
    assert.deepEqual(await tmpFiles(), [])
  })
})
