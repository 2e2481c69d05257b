/**
 * Bounded listings (src/repository/record-list.ts): one store that lists garbage, lists without end,
 * hangs ignoring its signal or fails cannot stall or poison a listing across stores.
 */
import assert from 'node:assert/strict'
import { MemoryStore } from '../../src/store/memory-store.js'
import { hashName } from '../../src/store/hash-name.js'
import { listNames } from '../../src/repository/record-list.js'
import type { ObjectKind, StoreCallOptions } from '../../src/store/shard-store.js'

async function storeWith (names: number): Promise<{ store: MemoryStore, names: string[] }> {
  const store = new MemoryStore()
  const out: string[] = []
  for (let i = 0; i < names; i++) {
    const data = Buffer.from(`record ${i} ${store.id}`)
    await store.put('snapshot', hashName(data), data)
    out.push(hashName(data))
  }
  return { store, names: out }
}

/** A store whose listing is whatever `list` yields (and everything else of a good store). */
function lister (id: string, list: (kind: ObjectKind, options?: StoreCallOptions) => AsyncIterable<string>): MemoryStore {
  const s = new MemoryStore(id)
  s.list = list
  return s
}

describe('bounded record listings', function () {
  it('merges the names of every store, sorted and deduplicated', async function () {
    const a = await storeWith(3)
    const b = await storeWith(2)
    const listed = await listNames([a.store, b.store], 'snapshot')
    assert.deepEqual(listed.names, [...a.names, ...b.names].sort())
    assert.equal(listed.reached, 2)
    assert.deepEqual(listed.problems, [])
  })

  it('drops names that are not object names and says which store listed them', async function () {
    const good = await storeWith(2)
    const bad = lister('mem:garbage', async function * () { yield '../../etc/passwd'; yield 'ZZ'; yield good.names[0] })
    const listed = await listNames([good.store, bad], 'snapshot')
    assert.deepEqual(listed.names, [...good.names].sort())
    assert.ok(listed.problems.some(p => /mem:garbage listed 2 invalid snapshot names/.test(p)), listed.problems.join('; '))
  })

  it('cuts off a store that lists without end at maxNames', async function () {
    const good = await storeWith(2)
    let n = 0
    const endless = lister('mem:endless', async function * () { for (;;) yield hashName(Buffer.from(String(n++))) })
    const listed = await listNames([good.store, endless], 'snapshot', { maxNames: 1000 })
    assert.ok(listed.names.length <= 1002)
    assert.ok(listed.problems.some(p => /mem:endless lists more than 1000/.test(p)))
    assert.equal(listed.reached, 1)
  })

  it('gives up on a store that hangs past the time limit, even one that ignores its signal', async function () {
    const good = await storeWith(2)
    const hung = lister('mem:hung', async function * () { await new Promise(() => {}); yield '' })
    const started = Date.now()
    const listed = await listNames([good.store, hung], 'snapshot', { timeoutMs: 200 })
    assert.ok(Date.now() - started < 2000, 'returned soon after the limit')
    assert.deepEqual(listed.names, [...good.names].sort())
    assert.ok(listed.problems.some(p => /mem:hung took longer than 200 ms/.test(p)))
  })

  it('reports an unreachable store and goes on with the others', async function () {
    const good = await storeWith(1)
    const down = new MemoryStore('mem:down')
    down.available = false
    const listed = await listNames([down, good.store], 'snapshot')
    assert.deepEqual(listed.names, good.names)
    assert.equal(listed.reached, 1)
    assert.ok(listed.problems.some(p => p.startsWith('mem:down')))
  })

  it("stops at the caller's abort", async function () {
    const hung = lister('mem:hung', async function * () { await new Promise(() => {}); yield '' })
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('stop')), 50)
    await assert.rejects(listNames([hung], 'snapshot', { signal: ac.signal }), /stop/)
  })
})
