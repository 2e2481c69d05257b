import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SEAL_OVERHEAD, open, seal } from '../../src/crypto/aead.js'
import { blobId, deriveRepositoryKeys, RepositoryKeys } from '../../src/crypto/keys.js'
import { blobAad, openBlob, sealBlob } from '../../src/format/blob.js'
import { buildPack, MAX_HEADER_LENGTH, readPackHeader, SealedBlob } from '../../src/format/pack.js'
import { MAX_RECORD_SIZE, openRecord, sealRecord } from '../../src/format/records.js'
import { Register } from '../../src/repository/register.js'
import type { BlobType, PackBlob, PackDescriptor, SnapshotRecord, Tree } from '../../src/format/format.js'

function throwsNamed (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

const LEVEL = 3
const keys: RepositoryKeys = deriveRepositoryKeys(randomBytes(32))

/** Text-like, very compressible bytes. */
function compressible (length: number): Buffer {
  const line = Buffer.from('holdfast keeps your files safe across trusted peers; ')
  const out = Buffer.alloc(length)
  for (let i = 0; i < length; i += line.length) line.copy(out, i)
  return out
}

function makeBlob (type: BlobType, plain: Uint8Array): SealedBlob & { plain: Uint8Array } {
  const id = blobId(keys.id, plain)
  return { type, id: id.toString('hex'), sealed: sealBlob(keys.encryption, type, id, plain, LEVEL), rawLength: plain.length, plain }
}

describe('repository/blob', () => {
  it('round-trips compressible data, kept compressed', () => {
    for (const type of ['data', 'tree', 'index'] as const) {
      const plain = compressible(64 * 1024)
      const b = makeBlob(type, plain)
      assert.ok(b.sealed.length < plain.length / 10, `sealed ${b.sealed.length} bytes for ${plain.length}`)
      assert.deepEqual(openBlob(keys, type, b.id, b.sealed, plain.length), plain)
    }
  })

  it('round-trips incompressible data, stored raw (plaintext + 1 + 28)', () => {
    for (const length of [64, 1000, 100_000]) {
      const plain = randomBytes(length)
      const b = makeBlob('data', plain)
      assert.equal(b.sealed.length, length + 1 + 28)
      assert.equal(SEAL_OVERHEAD, 28)
      assert.deepEqual(openBlob(keys, 'data', b.id, b.sealed, length), plain)
    }
  })

  it('stores small blobs (< 64 bytes) raw even when they would compress', () => {
    for (const length of [0, 1, 63]) {
      const plain = Buffer.alloc(length, 0x61)
      const b = makeBlob('tree', plain)
      assert.equal(b.sealed.length, length + 1 + SEAL_OVERHEAD)
      assert.deepEqual(openBlob(keys, 'tree', b.id, b.sealed, length), plain)
    }
  })

  it('keeps compression only when it saves at least 1/32', () => {
    // half random, half zeros: compresses to roughly half
    const plain = Buffer.concat([randomBytes(4096), Buffer.alloc(4096)])
    const b = makeBlob('data', plain)
    assert.ok(b.sealed.length < plain.length - plain.length / 32)
    assert.deepEqual(openBlob(keys, 'data', b.id, b.sealed, plain.length), plain)
  })

  it('the codec byte is inside the encryption (layout: seal(codec || body, aad = type || id))', () => {
    const plain = randomBytes(100)
    const b = makeBlob('data', plain)
    const framed = open(keys.encryption, b.sealed, blobAad('data', Buffer.from(b.id, 'hex')))
    assert.equal(framed[0], 0)
    assert.deepEqual(framed.subarray(1), plain)
    const c = makeBlob('data', compressible(10_000))
    assert.equal(open(keys.encryption, c.sealed, blobAad('data', Buffer.from(c.id, 'hex')))[0], 1)
  })

  it('openBlob with the wrong id -> TamperedDataError', () => {
    const b = makeBlob('data', randomBytes(500))
    const other = makeBlob('data', randomBytes(500))
    throwsNamed(() => openBlob(keys, 'data', other.id, b.sealed, 500), 'TamperedDataError')
    const oneBitOff = Buffer.from(b.id, 'hex')
    oneBitOff[31] ^= 1
    throwsNamed(() => openBlob(keys, 'data', oneBitOff.toString('hex'), b.sealed, 500), 'TamperedDataError')
  })

  it('openBlob with the wrong type -> TamperedDataError', () => {
    const b = makeBlob('tree', compressible(5000))
    throwsNamed(() => openBlob(keys, 'data', b.id, b.sealed, 5000), 'TamperedDataError')
    throwsNamed(() => openBlob(keys, 'index', b.id, b.sealed, 5000), 'TamperedDataError')
  })

  it('openBlob with another encryption key -> TamperedDataError', () => {
    const b = makeBlob('data', randomBytes(100))
    const other = deriveRepositoryKeys(randomBytes(32))
    throwsNamed(() => openBlob({ encryption: other.encryption, id: keys.id }, 'data', b.id, b.sealed, 100), 'TamperedDataError')
  })

  it('any flipped byte -> TamperedDataError', () => {
    for (const plain of [randomBytes(80), compressible(2000)]) {
      const b = makeBlob('data', plain)
      for (let i = 0; i < b.sealed.length; i++) {
        const bad = Buffer.from(b.sealed)
        bad[i] ^= 0xff
        throwsNamed(() => openBlob(keys, 'data', b.id, bad, plain.length), 'TamperedDataError')
      }
    }
  })

  it('truncated -> TamperedDataError', () => {
    const b = makeBlob('data', randomBytes(100))
    for (const len of [0, 10, 28, 29, b.sealed.length - 1]) {
      throwsNamed(() => openBlob(keys, 'data', b.id, b.sealed.subarray(0, len), 100), 'TamperedDataError')
    }
  })

  it('rawLength mismatch -> IntegrityError', () => {
    for (const plain of [randomBytes(300), compressible(3000)]) {
      const b = makeBlob('data', plain)
      throwsNamed(() => openBlob(keys, 'data', b.id, b.sealed, plain.length + 1), 'IntegrityError')
      throwsNamed(() => openBlob(keys, 'data', b.id, b.sealed, plain.length - 1), 'IntegrityError')
      throwsNamed(() => openBlob(keys, 'data', b.id, b.sealed, 0), 'IntegrityError')
    }
  })

  it('a blob sealed under an id that is not the HMAC of its plaintext -> IntegrityError', () => {
    const plain = randomBytes(200)
    const wrongId = blobId(keys.id, randomBytes(200))
    const sealed = sealBlob(keys.encryption, 'data', wrongId, plain, LEVEL)
    throwsNamed(() => openBlob(keys, 'data', wrongId.toString('hex'), sealed, 200), 'IntegrityError')
    // and under another id key
    const otherIdKey = randomBytes(32)
    const id2 = blobId(otherIdKey, plain)
    const sealed2 = sealBlob(keys.encryption, 'data', id2, plain, LEVEL)
    throwsNamed(() => openBlob(keys, 'data', id2.toString('hex'), sealed2, 200), 'IntegrityError')
  })

  it('an unknown codec byte -> TamperedDataError', () => {
    const plain = randomBytes(100)
    const id = blobId(keys.id, plain)
    const sealed = seal(keys.encryption, Buffer.concat([Buffer.of(7), plain]), blobAad('data', id))
    throwsNamed(() => openBlob(keys, 'data', id.toString('hex'), sealed, 100), 'TamperedDataError')
  })
})

describe('repository/pack', () => {
  const blobs = [
    makeBlob('data', randomBytes(1000)),
    makeBlob('data', compressible(20_000)),
    makeBlob('tree', Buffer.from(JSON.stringify({ v: 1, nodes: [] }))),
    makeBlob('data', Buffer.alloc(0)),
    makeBlob('index', compressible(3000))
  ]

  it('buildPack/readPackHeader round trip; the table opens every blob', () => {
    const { bytes, table } = buildPack(keys.encryption, blobs)
    const header = readPackHeader(keys.encryption, bytes)
    assert.deepEqual(header, table)
    assert.equal(table.length, blobs.length)
    let expectOffset = 0
    for (const [i, [type, id, offset, length, rawLength]] of header.entries()) {
      assert.equal(type, blobs[i].type)
      assert.equal(id, blobs[i].id)
      assert.equal(offset, expectOffset)
      assert.equal(length, blobs[i].sealed.length)
      assert.equal(rawLength, blobs[i].rawLength)
      expectOffset += length
      assert.deepEqual(openBlob(keys, type, id, bytes.subarray(offset, offset + length), rawLength), blobs[i].plain)
    }
    // sealed blobs, then the sealed header, then its length (4 bytes LE)
    const headerLength = bytes.readUInt32LE(bytes.length - 4)
    assert.equal(bytes.length, expectOffset + headerLength + 4)
  })

  it('round-trips an empty pack', () => {
    const { bytes, table } = buildPack(keys.encryption, [])
    assert.deepEqual(table, [])
    assert.deepEqual(readPackHeader(keys.encryption, bytes), [])
  })

  it('reads the header of a pack held in a subarray', () => {
    const { bytes, table } = buildPack(keys.encryption, blobs)
    const big = Buffer.alloc(bytes.length + 100, 0xee)
    bytes.copy(big, 50)
    assert.deepEqual(readPackHeader(keys.encryption, big.subarray(50, 50 + bytes.length)), table)
  })

  it('a corrupted header -> TamperedDataError (every byte of the sealed header)', () => {
    const { bytes } = buildPack(keys.encryption, blobs.slice(0, 2))
    const headerLength = bytes.readUInt32LE(bytes.length - 4)
    const start = bytes.length - 4 - headerLength
    for (let i = start; i < bytes.length - 4; i++) {
      const bad = Buffer.from(bytes)
      bad[i] ^= 0x01
      throwsNamed(() => readPackHeader(keys.encryption, bad), 'TamperedDataError')
    }
  })

  it('a corrupted header length -> TamperedDataError', () => {
    const { bytes } = buildPack(keys.encryption, blobs)
    const len = bytes.readUInt32LE(bytes.length - 4)
    for (const v of [0, 1, len - 1, len + 1, bytes.length - 3, bytes.length, MAX_HEADER_LENGTH + 1, 0xffffffff]) {
      const bad = Buffer.from(bytes)
      bad.writeUInt32LE(v, bad.length - 4)
      throwsNamed(() => readPackHeader(keys.encryption, bad), 'TamperedDataError')
    }
  })

  it('a truncated pack, or one under another key -> TamperedDataError', () => {
    const { bytes } = buildPack(keys.encryption, blobs)
    for (const len of [0, 3, 4, 40]) throwsNamed(() => readPackHeader(keys.encryption, bytes.subarray(0, len)), 'TamperedDataError')
    throwsNamed(() => readPackHeader(keys.encryption, bytes.subarray(0, bytes.length - 1)), 'TamperedDataError')
    throwsNamed(() => readPackHeader(deriveRepositoryKeys(randomBytes(32)).encryption, bytes), 'TamperedDataError')
  })

  it('a flipped byte in a blob leaves the header readable but fails that blob', () => {
    const { bytes, table } = buildPack(keys.encryption, blobs)
    const [type, id, offset, length, rawLength] = table[1]
    const bad = Buffer.from(bytes)
    bad[offset + 5] ^= 0x80
    assert.deepEqual(readPackHeader(keys.encryption, bad), table)
    throwsNamed(() => openBlob(keys, type, id, bad.subarray(offset, offset + length), rawLength), 'TamperedDataError')
  })

  it('a sealed record cannot pass for a pack header', () => {
    const header = sealRecord(keys.encryption, 'index', { v: 1, blobs: [] })
    const fake = Buffer.alloc(header.length + 4)
    header.copy(fake)
    fake.writeUInt32LE(header.length, header.length)
    throwsNamed(() => readPackHeader(keys.encryption, fake), 'TamperedDataError')
  })
})

describe('repository/records', () => {
  const value = { v: 1, created: '2024-01-02T03:04:05.000Z', packs: [{ id: 'ab', n: [1, 2, 3] }], note: 'naïve ✓' }

  it('sealRecord/openRecord round trip for each kind', () => {
    for (const kind of ['config', 'index', 'snapshot'] as const) {
      const sealed = sealRecord(keys.encryption, kind, value)
      assert.deepEqual(openRecord(keys.encryption, kind, sealed), value)
    }
  })

  it('two seals of one record differ (fresh nonce)', () => {
    assert.notDeepEqual(sealRecord(keys.encryption, 'config', value), sealRecord(keys.encryption, 'config', value))
  })

  it('wrong kind -> TamperedDataError', () => {
    const sealed = sealRecord(keys.encryption, 'snapshot', value)
    throwsNamed(() => openRecord(keys.encryption, 'index', sealed), 'TamperedDataError')
    throwsNamed(() => openRecord(keys.encryption, 'config', sealed), 'TamperedDataError')
  })

  it('a flipped byte or another key -> TamperedDataError', () => {
    const sealed = sealRecord(keys.encryption, 'config', value)
    for (const i of [0, 11, 12, sealed.length >> 1, sealed.length - 1]) {
      const bad = Buffer.from(sealed)
      bad[i] ^= 0x04
      throwsNamed(() => openRecord(keys.encryption, 'config', bad), 'TamperedDataError')
    }
    throwsNamed(() => openRecord(randomBytes(32), 'config', sealed), 'TamperedDataError')
  })

  it('a record larger than MAX_RECORD_SIZE -> TooLargeError (before decrypting)', () => {
    throwsNamed(() => openRecord(keys.encryption, 'index', Buffer.alloc(MAX_RECORD_SIZE + 1)), 'TooLargeError')
  })
})

describe('repository/register', function () {
  this.timeout(10000)

  let dir: string
  let path: string
  let reg: Register

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-register-test-'))
    path = join(dir, 'register')
    reg = new Register(path)
    await reg.open()
  })

  afterEach(async () => {
    await reg.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function reopen (): Promise<void> {
    await reg.close()
    reg = new Register(path)
    await reg.open()
  }

  const hex = (n = 32): string => randomBytes(n).toString('hex')

  function descriptor (blobCount: number, blobs?: PackBlob[]): PackDescriptor {
    const table: PackBlob[] = blobs ?? Array.from({ length: blobCount }, (_, i) => ['data', hex(), i * 100, 100, 70 + i] as PackBlob)
    return {
      id: hex(),
      length: 100 * table.length + 60,
      k: 4,
      m: 2,
      codec: 'cauchy-gf256',
      shardSize: 1024,
      segmentSize: 4096,
      shards: Array.from({ length: 6 }, (_, i) => ({ name: hex(), root: hex(), store: `dir:/s${i}` })),
      blobs: table
    }
  }

  function snapshot (time: string, extra: Partial<SnapshotRecord> = {}): SnapshotRecord {
    return {
      v: 1,
      time,
      hostname: 'host',
      username: 'user',
      paths: ['/home/user'],
      tree: hex(),
      partial: false,
      summary: { filesNew: 1, filesChanged: 0, filesUnchanged: 0, dirs: 1, bytesRead: 10, bytesAdded: 10, bytesStored: 10, totalFiles: 1, totalBytes: 10, errors: 0, durationMs: 5 },
      ...extra
    }
  }

  /** In memory: each pack's layout (no blob list) and each blob's location; the whole descriptor in the database. */
  async function checkMaps (descs: PackDescriptor[]): Promise<void> {
    assert.equal(reg.packs.size, descs.length)
    let blobCount = 0
    for (const d of descs) {
      const { blobs, ...layout } = d
      assert.deepEqual(reg.packs.get(d.id), layout)
      assert.equal('blobs' in reg.packs.get(d.id)!, false, 'no blob list held in memory')
      assert.deepEqual(await reg.packDescriptor(d.id), d)
      assert.equal(blobs.length, d.blobs.length)
      for (const [type, id, offset, length, rawLength] of d.blobs) {
        assert.deepEqual(reg.blobs.get(id), { pack: d.id, type, offset, length, rawLength })
        blobCount++
      }
    }
    assert.equal(reg.blobs.size, blobCount)
  }

  it('starts empty', async () => {
    assert.equal(reg.packs.size, 0)
    assert.equal(reg.blobs.size, 0)
    assert.deepEqual(await reg.pendingPacks(), [])
    assert.deepEqual(await reg.snapshots(), [])
    assert.equal(await reg.isBuilt(), false)
    assert.equal(await reg.hasIndexRecord(hex()), false)
    assert.equal(await reg.getTree(hex()), undefined)
  })

  it('addPacks fills the blobs and packs maps', async () => {
    const descs = [descriptor(3), descriptor(1), descriptor(0)]
    descs[2].blobs = [['tree', hex(), 0, 40, 12], ['index', hex(), 40, 50, 30]]
    await reg.addPacks(descs.slice(0, 2), true)
    await checkMaps(descs.slice(0, 2))
    await reg.addPacks(descs.slice(2), false)
    await checkMaps(descs)
  })

  it('a blob in two packs keeps its first location', async () => {
    const a = descriptor(2)
    const b = descriptor(1, [['data', a.blobs[0][1], 500, 100, 70]])
    await reg.addPacks([a], false)
    await reg.addPacks([b], false)
    assert.equal(reg.blobs.get(a.blobs[0][1])?.pack, a.id)
    assert.equal(reg.packs.size, 2)
    assert.equal(reg.blobs.size, 2)
    await reopen()
    // after a reopen, still one of the packs that hold it
    assert.ok([a.id, b.id].includes(reg.blobs.get(a.blobs[0][1])!.pack))
  })

  it('pending packs are listed until markIndexed', async () => {
    const pending = [descriptor(1), descriptor(2), descriptor(3)]
    const settled = descriptor(2)
    await reg.addPacks(pending, true)
    await reg.addPacks([settled], false)
    const ids = async (): Promise<string[]> => (await reg.pendingPacks()).map(d => d.id).sort()
    assert.deepEqual(await ids(), pending.map(d => d.id).sort())
    assert.deepEqual((await reg.pendingPacks()).find(d => d.id === pending[1].id), pending[1])

    const record = hex()
    assert.equal(await reg.hasIndexRecord(record), false)
    await reg.markIndexed(record, [pending[0].id, pending[2].id])
    assert.deepEqual(await ids(), [pending[1].id])
    assert.equal(await reg.hasIndexRecord(record), true)
    // indexed packs remain known
    await checkMaps([...pending, settled])

    await reg.markIndexed(hex(), [pending[1].id])
    assert.deepEqual(await reg.pendingPacks(), [])
  })

  it('data survives close and reopen', async () => {
    const descs = [descriptor(4), descriptor(2)]
    await reg.addPacks([descs[0]], true)
    await reg.addPacks([descs[1]], false)
    const record = hex()
    await reg.markIndexed(record, [])
    const snap = snapshot('2024-05-01T10:00:00.000Z', { parent: hex() })
    await reg.putSnapshot('s1', snap)
    const tree: Tree = { v: 1, nodes: [{ name: 'a', type: 'file', mode: 0o644, mtime: '1700000000000000000', uid: 1, gid: 1, inode: 5, size: 3, content: [hex()] }] }
    const treeId = hex()
    await reg.putTrees([[treeId, tree]])
    await reg.markBuilt()

    await reopen()
    await checkMaps(descs)
    assert.deepEqual((await reg.pendingPacks()).map(d => d.id), [descs[0].id])
    assert.equal(await reg.hasIndexRecord(record), true)
    assert.deepEqual(await reg.snapshots(), [{ name: 's1', snapshot: snap }])
    assert.deepEqual(await reg.getTree(treeId), tree)
    assert.equal(await reg.isBuilt(), true)
  })

  it('updatePack moves shards and keeps the blob list in the database (a pending pack is indexed whole)', async () => {
    const d = descriptor(3)
    await reg.addPacks([d], true)
    const moved = { ...reg.packs.get(d.id)!, shards: d.shards.map((s, i) => i === 0 ? { ...s, store: 'dir:/elsewhere' } : s) }
    await reg.updatePack(moved)
    assert.equal(reg.packs.get(d.id)!.shards[0].store, 'dir:/elsewhere')
    const whole = await reg.packDescriptor(d.id)
    assert.deepEqual(whole?.blobs, d.blobs)
    assert.equal(whole?.shards[0].store, 'dir:/elsewhere')
    assert.deepEqual((await reg.pendingPacks())[0], whole)
    await reopen()
    assert.deepEqual(await reg.packDescriptor(d.id), whole)
    await assert.rejects(reg.updatePack({ ...moved, id: hex() }), { name: 'NotFoundError' })
  })

  it('clear empties the maps and the database', async () => {
    await reg.addPacks([descriptor(3)], true)
    await reg.putSnapshot('s', snapshot('2024-01-01T00:00:00.000Z'))
    const treeId = hex()
    await reg.putTrees([[treeId, { v: 1, nodes: [] }]])
    const record = hex()
    await reg.markIndexed(record, [])
    await reg.markBuilt()

    await reg.clear()
    const empty = async (): Promise<void> => {
      assert.equal(reg.packs.size, 0)
      assert.equal(reg.blobs.size, 0)
      assert.deepEqual(await reg.pendingPacks(), [])
      assert.deepEqual(await reg.snapshots(), [])
      assert.equal(await reg.getTree(treeId), undefined)
      assert.equal(await reg.hasIndexRecord(record), false)
      assert.equal(await reg.isBuilt(), false)
    }
    await empty()
    await reopen()
    await empty()
  })

  it('snapshots are sorted by time, then by name', async () => {
    const times = ['2024-03-01T00:00:00.000Z', '2023-12-31T23:59:59.999Z', '2024-03-01T00:00:00.001Z', '2024-01-15T12:00:00.000Z']
    // names deliberately in another order than times
    const names = ['d' + hex(4), 'a' + hex(4), 'c' + hex(4), 'b' + hex(4)]
    for (let i = 0; i < times.length; i++) await reg.putSnapshot(names[i], snapshot(times[i]))
    await reg.putSnapshot('zz-same-time', snapshot(times[0]))
    await reg.putSnapshot('aa-same-time', snapshot(times[0]))
    const got = (await reg.snapshots()).map(s => [s.snapshot.time, s.name])
    assert.deepEqual(got, [
      [times[1], names[1]],
      [times[3], names[3]],
      [times[0], 'aa-same-time'],
      [times[0], names[0]],
      [times[0], 'zz-same-time'],
      [times[2], names[2]]
    ])
  })

  it('putSnapshot again under the same name replaces it', async () => {
    await reg.putSnapshot('s', snapshot('2024-01-01T00:00:00.000Z'))
    const later = snapshot('2024-02-01T00:00:00.000Z')
    await reg.putSnapshot('s', later)
    assert.deepEqual(await reg.snapshots(), [{ name: 's', snapshot: later }])
  })

  it('trees are cached by id', async () => {
    const trees: Array<[string, Tree]> = Array.from({ length: 20 }, (_, i) => [hex(), {
      v: 1,
      nodes: [
        { name: `dir${i}`, type: 'dir', mode: 0o755, mtime: String(1_700_000_000_000_000_000n + BigInt(i)), uid: 0, gid: 0, inode: i, size: 0, subtree: hex() },
        { name: 'link', type: 'symlink', mode: 0o777, mtime: '0', uid: 0, gid: 0, inode: 100 + i, size: 4, target: '../x' }
      ]
    }])
    await reg.putTrees(trees)
    await reg.putTrees([]) // harmless
    for (const [id, tree] of trees) assert.deepEqual(await reg.getTree(id), tree)
    assert.equal(await reg.getTree(hex()), undefined)
    // snapshots, packs and trees do not leak into each other's listings
    assert.deepEqual(await reg.snapshots(), [])
    assert.deepEqual(await reg.pendingPacks(), [])
    assert.equal(reg.packs.size, 0)
  })

  it('close is harmless to call twice', async () => {
    await reg.close()
    await reg.close()
    reg = new Register(path)
    await reg.open()
  })
})

describe('sealBlobInto', () => {
  it('writes a blob that openBlob opens, compressed or not, and refuses when it would not fit', async () => {
    const { sealBlobInto, openBlob } = await import('../../src/format/blob.js')
    const { deriveRepositoryKeys, blobId } = await import('../../src/crypto/keys.js')
    const { randomBytes } = await import('node:crypto')
    const keys = deriveRepositoryKeys(randomBytes(32))
    for (const plain of [Buffer.alloc(0), Buffer.from('x'.repeat(100000)), randomBytes(70000)]) {
      const id = blobId(keys.id, plain)
      const target = Buffer.alloc(200000, 0xee)
      const n = sealBlobInto(keys.encryption, 'data', id, plain, 3, target, 17)
      assert.ok(n > 0)
      assert.equal(target[16], 0xee, 'nothing written before the offset')
      assert.equal(target[17 + n], 0xee, 'nothing written past the sealed length')
      assert.deepEqual(openBlob(keys, 'data', id.toString('hex'), target.subarray(17, 17 + n), plain.length), plain)
      const small = Buffer.alloc(n - 1, 0xee)
      assert.equal(sealBlobInto(keys.encryption, 'data', id, plain, 3, small, 0), -1)
      assert.ok(small.every(b => b === 0xee), 'a refused blob writes nothing')
    }
  })
})
