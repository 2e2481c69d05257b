import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DirectoryStore } from '../../src/store/directory-store.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { hashName, isObjectName } from '../../src/store/hash-name.js'
import { OBJECT_KINDS } from '../../src/store/shard-store.js'
import { LimitedStore } from '../../src/bandwidth/limited-store.js'
import { FaultStore } from '../../src/store/faults/index.js'
import { ByteBudget } from '../../src/util/byte-budget.js'
import { collect, object, rejectsNamed, shardStoreSuite } from './store-suite.js'

async function tempDir (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'holdfast-store-test-'))
}

shardStoreSuite('DirectoryStore', async () => {
  const parent = await tempDir()
  const root = join(parent, 'store')
  // durable: false keeps the suite fast; fsync does not change behaviour a test can observe.
  const store = await DirectoryStore.create(root, { durable: false })
  return {
    store,
    breakStore: async () => { await rm(root, { recursive: true, force: true }) },
    cleanup: async () => { await rm(parent, { recursive: true, force: true }) }
  }
})

shardStoreSuite('DirectoryStore (durable)', async () => {
  const root = await tempDir()
  const store = await DirectoryStore.create(root)
  return {
    store,
    breakStore: async () => { await rm(root, { recursive: true, force: true }) },
    cleanup: async () => { await rm(root, { recursive: true, force: true }) }
  }
})

shardStoreSuite('MemoryStore', async () => {
  const store = new MemoryStore()
  return {
    store,
    breakStore: async () => { store.available = false },
    cleanup: async () => {}
  }
})

// the decorators keep the whole contract, optional operations (audits, quarantine) included
shardStoreSuite('LimitedStore over a DirectoryStore', async () => {
  const root = await tempDir()
  const inner = await DirectoryStore.create(root, { durable: false })
  return {
    store: new LimitedStore(inner, undefined, new ByteBudget(2)),
    breakStore: async () => { await rm(root, { recursive: true, force: true }) },
    cleanup: async () => { await rm(root, { recursive: true, force: true }) }
  }
})

shardStoreSuite('FaultStore (no fault switched on) over a MemoryStore', async () => {
  const inner = new MemoryStore()
  return {
    store: new FaultStore(inner),
    breakStore: async () => { inner.available = false },
    cleanup: async () => {}
  }
})

describe('store decorators', () => {
  it('LimitedStore and FaultStore offer every optional operation their inner store offers', async () => {
    const root = await tempDir()
    try {
      const inner = await DirectoryStore.create(root, { durable: false })
      const optional = ['prove', 'quarantine', 'release', 'purgeQuarantine'] as const
      for (const store of [new LimitedStore(inner, undefined, new ByteBudget(1)), new FaultStore(inner)]) {
        for (const op of optional) assert.equal(typeof store[op], 'function', `${store.constructor.name}.${op}`)
      }
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})

describe('hashName / isObjectName', () => {
  it('hashName is lowercase hex SHA-256', () => {
    const data = Buffer.from('hello')
    assert.equal(hashName(data), createHash('sha256').update(data).digest('hex'))
    assert.equal(hashName(new Uint8Array(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('isObjectName accepts exactly 64 lowercase hex digits', () => {
    assert.equal(isObjectName('a'.repeat(64)), true)
    assert.equal(isObjectName(hashName(Buffer.from('x'))), true)
    for (const bad of ['', 'A'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), 'g'.repeat(64), `${'a'.repeat(64)}\n`, `../${'a'.repeat(61)}`]) {
      assert.equal(isObjectName(bad), false, JSON.stringify(bad))
    }
  })
})

describe('DirectoryStore specifics', () => {
  let root: string

  beforeEach(async () => { root = await tempDir() })
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  it('create makes the marker and tmp/, and is harmless when the store exists', async () => {
    const s = await DirectoryStore.create(root)
    assert.equal(s.id, `dir:${root}`)
    const marker = JSON.parse(await readFile(join(root, 'holdfast-store.json'), 'utf8'))
    assert.deepEqual(marker, { holdfast: 'store', version: 1 })
    assert.ok((await stat(join(root, 'tmp'))).isDirectory())
    const o = object()
    await s.put('shard', o.name, o.data)
    const again = await DirectoryStore.create(root)
    assert.deepEqual(Buffer.from(await again.get('shard', o.name)), o.data)
  })

  it('lays objects out as ROOT/<kind>/<2 hex>/<name>', async () => {
    const s = await DirectoryStore.create(root, { durable: false })
    for (const kind of OBJECT_KINDS) {
      const o = object()
      await s.put(kind, o.name, o.data)
      assert.deepEqual(await readFile(join(root, kind, o.name.slice(0, 2), o.name)), o.data)
    }
  })

  it('leaves no files in ROOT/tmp after puts', async () => {
    const s = await DirectoryStore.create(root)
    const objs = Array.from({ length: 30 }, (_, i) => object(100 + i))
    await Promise.all(objs.map(async o => await s.put('shard', o.name, o.data)))
    await Promise.all(objs.map(async o => await s.put('shard', o.name, o.data))) // again: already stored
    const o = objs[0]
    await Promise.all([1, 2, 3].map(async () => await s.put('index', o.name, o.data))) // racing puts of one object
    assert.deepEqual(await readdir(join(root, 'tmp')), [])
    assert.equal((await collect(s.list('shard'))).length, 30)
  })

  it('leaves no files in ROOT/tmp after a rejected put', async () => {
    const s = await DirectoryStore.create(root)
    const o = object()
    await rejectsNamed(() => s.put('shard', hashName(Buffer.from('other')), o.data), 'IntegrityError')
    await rejectsNamed(() => s.put('shard', 'nope', o.data), 'UsageError')
    assert.deepEqual(await readdir(join(root, 'tmp')), [])
  })

  it('writes objects with mode 0600', async function () {
    if (process.platform === 'win32') this.skip()
    const s = await DirectoryStore.create(root)
    for (const kind of OBJECT_KINDS) {
      const o = object()
      await s.put(kind, o.name, o.data)
      const mode = (await stat(join(root, kind, o.name.slice(0, 2), o.name))).mode & 0o777
      assert.equal(mode, 0o600, `${kind}: mode ${mode.toString(8)}`)
    }
  })

  it('with verifyWrites (the default) rejects data whose hash is not the name (IntegrityError)', async () => {
    for (const s of [await DirectoryStore.create(root), await DirectoryStore.create(root, { verifyWrites: true })]) {
      const o = object()
      const wrong = hashName(Buffer.concat([o.data, Buffer.of(0)]))
      await rejectsNamed(() => s.put('shard', wrong, o.data), 'IntegrityError')
      assert.equal(await s.has('shard', wrong), false)
      await rejectsNamed(() => s.get('shard', wrong), 'NotFoundError')
    }
  })

  it('with verifyWrites false stores what it is given (the caller vouches for the name)', async () => {
    const s = await DirectoryStore.create(root, { verifyWrites: false })
    const o = object()
    const other = object().name
    await s.put('shard', other, o.data)
    assert.deepEqual(Buffer.from(await s.get('shard', other)), o.data)
    // invalid names are still refused
    await rejectsNamed(() => s.put('shard', 'not-a-name', o.data), 'UsageError')
  })

  it('rejects an unknown object kind (UsageError)', async () => {
    const s = await DirectoryStore.create(root)
    const o = object()
    await rejectsNamed(() => s.put('../tmp' as 'shard', o.name, o.data), 'UsageError')
    await rejectsNamed(() => s.get('bogus' as 'shard', o.name), 'UsageError')
  })

  it('a directory without the marker is unavailable', async () => {
    const s = new DirectoryStore(join(root, 'never-created'))
    const o = object()
    await rejectsNamed(() => s.put('shard', o.name, o.data), 'StoreUnavailableError')
    await rejectsNamed(() => s.get('shard', o.name), 'StoreUnavailableError')
    await rejectsNamed(() => collect(s.list('shard')), 'StoreUnavailableError')
  })

  it('list ignores stray files that are not object names', async () => {
    const s = await DirectoryStore.create(root)
    const o = object()
    await s.put('shard', o.name, o.data)
    await writeFile(join(root, 'shard', o.name.slice(0, 2), `${o.name}.partial`), 'junk')
    await writeFile(join(root, 'shard', o.name.slice(0, 2), 'README'), 'junk')
    assert.deepEqual(await collect(s.list('shard')), [o.name])
  })
})

describe('MemoryStore specifics', () => {
  it('put rejects data whose hash is not the name (IntegrityError)', async () => {
    const s = new MemoryStore()
    const o = object()
    await rejectsNamed(() => s.put('shard', object().name, o.data), 'IntegrityError')
    assert.equal(s.objects.size, 0)
  })

  it('corrupt() flips a byte; a whole get then fails with IntegrityError', async () => {
    const s = new MemoryStore()
    const o = object(10)
    await s.put('shard', o.name, o.data)
    s.corrupt('shard', o.name, 3)
    await rejectsNamed(() => s.get('shard', o.name), 'IntegrityError')
    const part = await s.get('shard', o.name, { offset: 3, length: 1 })
    assert.equal(part[0], o.data[3] ^ 0xff)
  })

  it('comes back when available is set again', async () => {
    const s = new MemoryStore()
    const o = object()
    await s.put('shard', o.name, o.data)
    s.available = false
    await rejectsNamed(() => s.get('shard', o.name), 'StoreUnavailableError')
    s.available = true
    assert.deepEqual(Buffer.from(await s.get('shard', o.name)), o.data)
  })

  it('ids are distinct unless given', () => {
    assert.notEqual(new MemoryStore().id, new MemoryStore().id)
    assert.equal(new MemoryStore('mem:fixed').id, 'mem:fixed')
  })
})
