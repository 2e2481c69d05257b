import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { OBJECT_KINDS, ObjectKind, ShardStore } from '../../src/store/shard-store.js'
import { hashName } from '../../src/store/hash-name.js'
import { createChallenge, verifyAnswer } from '../../src/audit/challenge.js'
import { merkleRoot } from '../../src/audit/merkle.js'

/**
 * The behaviour every ShardStore must have (src/store/shard-store.ts), run against each implementation.
 * `make` gives a fresh, empty store; `breakStore` makes it unreachable; `cleanup` removes what it left.
 */
export interface StoreFixture {
  store: ShardStore
  breakStore: () => Promise<void>
  cleanup: () => Promise<void>
}

export async function rejectsNamed (fn: () => unknown, name: string): Promise<void> {
  await assert.rejects(async () => { await fn() }, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

export function object (length = 100): { name: string, data: Buffer } {
  const data = randomBytes(length)
  return { name: hashName(data), data }
}

export async function collect (it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const x of it) out.push(x)
  return out
}

export interface SuiteOptions {
  /**
   * Tests (by title) that this implementation is known to fail, each with a description of the bug.
   * They are registered as pending (`it.skip`) so the run stays green; remove an entry once its bug is fixed.
   */
  knownBugs?: Record<string, string>
}

export function shardStoreSuite (name: string, make: () => Promise<StoreFixture>, options: SuiteOptions = {}): void {
  const knownBugs = options.knownBugs ?? {}
  describe(`ShardStore contract: ${name}`, () => {
    const registered = new Set<string>()
    const it = (title: string, fn: Mocha.AsyncFunc | Mocha.Func): Mocha.Test => {
      registered.add(title)
      return title in knownBugs ? globalThis.it.skip(`${title} [known bug: ${knownBugs[title]}]`, fn) : globalThis.it(title, fn)
    }

    let fx: StoreFixture
    let store: ShardStore

    beforeEach(async () => {
      fx = await make()
      store = fx.store
    })

    afterEach(async () => {
      await store.close()
      await fx.cleanup()
    })

    it('has a non-empty id', () => {
      assert.equal(typeof store.id, 'string')
      assert.ok(store.id.length > 0)
    })

    it('put/get round trip for each object kind', async () => {
      for (const kind of OBJECT_KINDS) {
        const o = object(200 + kind.length)
        await store.put(kind, o.name, o.data)
        const got = await store.get(kind, o.name)
        assert.ok(got instanceof Uint8Array)
        assert.deepEqual(Buffer.from(got), o.data)
      }
    })

    it('round-trips an empty object and a larger one', async () => {
      for (const length of [0, 1, 1 << 20]) {
        const o = object(length)
        await store.put('shard', o.name, o.data)
        assert.deepEqual(Buffer.from(await store.get('shard', o.name)), o.data)
      }
    })

    it('does not keep a reference to the caller\'s buffer', async () => {
      const o = object(64)
      const copy = Buffer.from(o.data)
      await store.put('shard', o.name, o.data)
      o.data.fill(0)
      assert.deepEqual(Buffer.from(await store.get('shard', o.name)), copy)
    })

    it('kinds are separate namespaces', async () => {
      const o = object()
      await store.put('shard', o.name, o.data)
      assert.equal(await store.has('shard', o.name), true)
      for (const kind of OBJECT_KINDS.filter(k => k !== 'shard')) {
        assert.equal(await store.has(kind, o.name), false)
        await rejectsNamed(() => store.get(kind, o.name), 'NotFoundError')
      }
    })

    it('get of a missing object -> NotFoundError', async () => {
      for (const kind of OBJECT_KINDS) {
        await rejectsNamed(() => store.get(kind, object().name), 'NotFoundError')
      }
      // same first two hex digits as a stored object, but another name
      const o = object()
      await store.put('shard', o.name, o.data)
      const sibling = o.name.slice(0, 2) + (o.name[2] === '0' ? '1' : '0') + o.name.slice(3)
      await rejectsNamed(() => store.get('shard', sibling), 'NotFoundError')
      await rejectsNamed(() => store.get('shard', sibling, { offset: 0, length: 1 }), 'NotFoundError')
    })

    it('ranged get returns exactly the asked bytes', async () => {
      const o = object(1000)
      await store.put('shard', o.name, o.data)
      const cases: Array<[number | undefined, number | undefined, Buffer]> = [
        [0, 10, o.data.subarray(0, 10)],
        [100, 250, o.data.subarray(100, 350)],
        [999, 1, o.data.subarray(999)],
        [0, 1000, o.data],
        [500, undefined, o.data.subarray(500)],
        [undefined, 7, o.data.subarray(0, 7)],
        [0, 0, Buffer.alloc(0)],
        [123, 0, Buffer.alloc(0)]
      ]
      for (const [offset, length, want] of cases) {
        const got = await store.get('shard', o.name, { offset, length })
        assert.deepEqual(Buffer.from(got), want, `offset ${String(offset)} length ${String(length)}`)
      }
    })

    it('ranged get past the end is cut short, or empty when it starts past the end', async () => {
      const o = object(100)
      await store.put('shard', o.name, o.data)
      assert.deepEqual(Buffer.from(await store.get('shard', o.name, { offset: 90, length: 50 })), o.data.subarray(90))
      assert.deepEqual(Buffer.from(await store.get('shard', o.name, { offset: 0, length: 1000 })), o.data)
      assert.equal((await store.get('shard', o.name, { offset: 100, length: 10 })).length, 0)
      assert.equal((await store.get('shard', o.name, { offset: 5000, length: 10 })).length, 0)
      assert.equal((await store.get('shard', o.name, { offset: 5000 })).length, 0)
    })

    it('has tells stored from missing objects', async () => {
      const a = object()
      const b = object()
      await store.put('index', a.name, a.data)
      assert.equal(await store.has('index', a.name), true)
      assert.equal(await store.has('index', b.name), false)
    })

    it('list returns exactly the names put for that kind, sorted, and nothing of other kinds', async () => {
      const put = new Map<ObjectKind, string[]>()
      for (const kind of OBJECT_KINDS) {
        const names: string[] = []
        const count = kind === 'shard' ? 40 : kind === 'snapshot' ? 3 : kind === 'key' ? 0 : 1
        for (let i = 0; i < count; i++) {
          const o = object(50 + i)
          await store.put(kind, o.name, o.data)
          names.push(o.name)
        }
        put.set(kind, names)
      }
      for (const kind of OBJECT_KINDS) {
        const listed = await collect(store.list(kind))
        assert.deepEqual(listed, [...put.get(kind)!].sort(), `kind ${kind}`)
      }
    })

    it('list of an empty store is empty', async () => {
      for (const kind of OBJECT_KINDS) assert.deepEqual(await collect(store.list(kind)), [])
    })

    it('delete then get -> NotFoundError; delete leaves other objects alone', async () => {
      const a = object()
      const b = object()
      await store.put('shard', a.name, a.data)
      await store.put('shard', b.name, b.data)
      await store.delete('shard', a.name)
      await rejectsNamed(() => store.get('shard', a.name), 'NotFoundError')
      assert.equal(await store.has('shard', a.name), false)
      assert.deepEqual(await collect(store.list('shard')), [b.name])
      assert.deepEqual(Buffer.from(await store.get('shard', b.name)), b.data)
      // deleting again (or something never stored) is harmless
      await store.delete('shard', a.name)
      await store.delete('snapshot', object().name)
      // and it can be put again
      await store.put('shard', a.name, a.data)
      assert.deepEqual(Buffer.from(await store.get('shard', a.name)), a.data)
    })

    it('delete removes only the object of that kind', async () => {
      const o = object()
      await store.put('shard', o.name, o.data)
      await store.put('snapshot', o.name, o.data)
      await store.delete('snapshot', o.name)
      assert.equal(await store.has('shard', o.name), true)
      assert.equal(await store.has('snapshot', o.name), false)
    })

    it('put twice is harmless', async () => {
      const o = object()
      await store.put('shard', o.name, o.data)
      await store.put('shard', o.name, o.data)
      await Promise.all([store.put('config', o.name, o.data), store.put('config', o.name, o.data)])
      assert.deepEqual(Buffer.from(await store.get('shard', o.name)), o.data)
      assert.deepEqual(Buffer.from(await store.get('config', o.name)), o.data)
      assert.deepEqual(await collect(store.list('shard')), [o.name])
      const u = await store.usage()
      assert.deepEqual(u, { objects: 2, bytes: 2 * o.data.length })
    })

    const invalidNames = [
      '',
      'abc',
      '../../../../etc/passwd',
      'g'.repeat(64),
      '0'.repeat(63),
      '0'.repeat(65),
      '00/' + '0'.repeat(61),
      '..' + '0'.repeat(62)
    ]

    it('get and delete reject invalid names (UsageError)', async () => {
      const o = object()
      await store.put('shard', o.name, o.data)
      for (const bad of [...invalidNames, o.name.toUpperCase(), ` ${o.name}`, `${o.name}\n`]) {
        await rejectsNamed(() => store.get('shard', bad), 'UsageError')
        await rejectsNamed(() => store.delete('shard', bad), 'UsageError')
      }
      assert.equal(await store.has('shard', o.name), true)
    })

    it('put rejects invalid names (UsageError) and stores nothing', async () => {
      for (const bad of invalidNames) {
        await rejectsNamed(() => store.put('shard', bad, Buffer.from('x')), 'UsageError')
      }
      // a name that is the hash of the data, but in upper case
      const o = object()
      await rejectsNamed(() => store.put('shard', o.name.toUpperCase(), o.data), 'UsageError')
      assert.deepEqual(await collect(store.list('shard')), [])
    })

    it('has rejects invalid names (UsageError)', async () => {
      for (const bad of invalidNames) {
        await rejectsNamed(() => store.has('shard', bad), 'UsageError')
      }
    })

    it('an unavailable store -> StoreUnavailableError on get/put/has/list/delete/usage', async () => {
      const o = object()
      await store.put('shard', o.name, o.data)
      await fx.breakStore()
      const fresh = object()
      await rejectsNamed(() => store.get('shard', o.name), 'StoreUnavailableError')
      await rejectsNamed(() => store.get('shard', o.name, { offset: 0, length: 4 }), 'StoreUnavailableError')
      await rejectsNamed(() => store.get('shard', fresh.name), 'StoreUnavailableError')
      await rejectsNamed(() => store.put('shard', fresh.name, fresh.data), 'StoreUnavailableError')
      await rejectsNamed(() => store.has('shard', o.name), 'StoreUnavailableError')
      await rejectsNamed(() => store.has('shard', fresh.name), 'StoreUnavailableError')
      await rejectsNamed(() => collect(store.list('shard')), 'StoreUnavailableError')
      await rejectsNamed(() => collect(store.list('snapshot')), 'StoreUnavailableError')
      await rejectsNamed(() => store.delete('shard', o.name), 'StoreUnavailableError')
      await rejectsNamed(() => store.usage(), 'StoreUnavailableError')
    })

    it('an aborted signal -> AbortedError on every call', async () => {
      const o = object()
      await store.put('shard', o.name, o.data)
      const ac = new AbortController()
      ac.abort()
      const signal = ac.signal
      const fresh = object()
      await rejectsNamed(() => store.put('shard', fresh.name, fresh.data, { signal }), 'AbortedError')
      await rejectsNamed(() => store.get('shard', o.name, { signal }), 'AbortedError')
      await rejectsNamed(() => store.get('shard', o.name, { signal, offset: 1, length: 2 }), 'AbortedError')
      await rejectsNamed(() => store.has('shard', o.name, { signal }), 'AbortedError')
      await rejectsNamed(() => collect(store.list('shard', { signal })), 'AbortedError')
      await rejectsNamed(() => store.delete('shard', o.name, { signal }), 'AbortedError')
      await rejectsNamed(() => store.usage({ signal }), 'AbortedError')
      // nothing happened
      assert.equal(await store.has('shard', fresh.name), false)
      assert.equal(await store.has('shard', o.name), true)
    })

    it('an aborted signal -> AbortedError from list even for a kind with no objects', async () => {
      const ac = new AbortController()
      ac.abort()
      await rejectsNamed(() => collect(store.list('key', { signal: ac.signal })), 'AbortedError')
    })

    it('usage counts objects and bytes over all kinds', async () => {
      assert.deepEqual(await store.usage(), { objects: 0, bytes: 0 })
      let bytes = 0
      let objects = 0
      for (const [i, kind] of OBJECT_KINDS.entries()) {
        for (let j = 0; j <= i; j++) {
          const o = object(10 + 100 * i + j)
          await store.put(kind, o.name, o.data)
          bytes += o.data.length
          objects++
        }
      }
      assert.deepEqual(await store.usage(), { objects, bytes })
      const gone = object(333)
      await store.put('shard', gone.name, gone.data)
      assert.deepEqual(await store.usage(), { objects: objects + 1, bytes: bytes + 333 })
      await store.delete('shard', gone.name)
      assert.deepEqual(await store.usage(), { objects, bytes })
    })

    it('prove answers an audit challenge that verifies against the root of the bytes put', async () => {
      assert.equal(typeof store.prove, 'function', 'every store answers audits')
      const { name, data } = object(64 * 1024 + 100)
      await store.put('shard', name, data)
      const expected = { root: merkleRoot(data, 1024), shardSize: data.length, segmentSize: 1024 }
      for (const count of [1, 4, 16]) {
        const challenge = createChallenge({ shardSize: data.length, segmentSize: 1024, count })
        const answer = await store.prove!('shard', name, { ...challenge, segmentSize: 1024 })
        assert.deepEqual(verifyAnswer(expected, challenge, answer), { ok: true, failed: [] })
        assert.deepEqual(Buffer.from(answer.nonce), Buffer.from(challenge.nonce))
      }
      // an answer to one challenge does not pass for another
      const first = createChallenge({ shardSize: data.length, segmentSize: 1024, count: 4 })
      const old = await store.prove!('shard', name, { ...first, segmentSize: 1024 })
      const next = createChallenge({ shardSize: data.length, segmentSize: 1024, count: 4 })
      assert.equal(verifyAnswer(expected, next, old).ok, false)
    })

    it('prove of an absent object -> NotFoundError', async () => {
      const { name } = object(2048)
      const challenge = createChallenge({ shardSize: 2048, segmentSize: 1024, count: 1 })
      await rejectsNamed(async () => await store.prove!('shard', name, { ...challenge, segmentSize: 1024 }), 'NotFoundError')
    })

    it('quarantine takes an object out of use (not listed, read or counted); release brings it back whole', async function (this: Mocha.Context) {
      if (store.quarantine == null || store.release == null) return this.skip()
      const a = object(300)
      const b = object(200)
      await store.put('shard', a.name, a.data)
      await store.put('shard', b.name, b.data)
      await store.quarantine('shard', a.name, 3_600_000)
      assert.equal(await store.has('shard', a.name), false)
      assert.deepEqual(await collect(store.list('shard')), [b.name])
      await rejectsNamed(async () => await store.get('shard', a.name), 'NotFoundError')
      assert.deepEqual(await store.usage(), { objects: 1, bytes: 200 })
      assert.equal(await store.release('shard', a.name), true)
      assert.deepEqual(Buffer.from(await store.get('shard', a.name)), a.data)
      assert.deepEqual(await store.usage(), { objects: 2, bytes: 500 })
      // nothing (more) to release; quarantining what is absent is harmless
      assert.equal(await store.release('shard', a.name), false)
      assert.equal(await store.release('shard', object(10).name), false)
      await store.quarantine('shard', object(10).name, 1000)
      assert.deepEqual((await collect(store.list('shard'))).sort(), [a.name, b.name].sort())
    })

    it('a purge deletes what is in quarantine past its grace, and only that', async function (this: Mocha.Context) {
      if (store.quarantine == null || store.release == null || store.purgeQuarantine == null) return this.skip()
      const due = object(100)
      const kept = object(100)
      await store.put('shard', due.name, due.data)
      await store.put('shard', kept.name, kept.data)
      await store.quarantine('shard', due.name, 0)
      await store.quarantine('shard', kept.name, 3_600_000)
      assert.equal(await store.purgeQuarantine(), 1)
      assert.equal(await store.release('shard', due.name), false)
      assert.equal(await store.release('shard', kept.name), true)
      assert.deepEqual(Buffer.from(await store.get('shard', kept.name)), kept.data)
    })

    it('close is harmless to call twice', async () => {
      await store.close()
      await store.close()
    })

    for (const title of Object.keys(knownBugs)) {
      if (!registered.has(title)) throw new Error(`shardStoreSuite(${name}): knownBugs names no test of the suite: ${title}`)
    }
  })
}
