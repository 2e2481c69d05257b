/** Sealed records: small ones plain JSON, large ones zstd-compressed first; both read; tampering caught. */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { seal } from '../../src/crypto/aead.js'
import { openRecord, sealRecord } from '../../src/format/records.js'

describe('sealed records', function () {
  const key = randomBytes(32)
  const large = { v: 1, entries: Array.from({ length: 500 }, (_, i) => ({ id: randomBytes(32).toString('hex'), offset: i })) }

  it('round-trips a small record and a large one, the large one compressed', function () {
    assert.deepEqual(openRecord(key, 'snapshot', sealRecord(key, 'snapshot', { a: 1 })), { a: 1 })
    const sealed = sealRecord(key, 'index', large)
    assert.ok(sealed.length < JSON.stringify(large).length * 0.7, `${sealed.length} bytes sealed for ${JSON.stringify(large).length} of JSON`)
    assert.deepEqual(openRecord(key, 'index', sealed), large)
  })

  it('reads a large record sealed uncompressed (written before records were compressed)', function () {
    const old = seal(key, Buffer.from(JSON.stringify(large)), Buffer.from('holdfast index record v1'))
    assert.deepEqual(openRecord(key, 'index', old), large)
  })

  it('refuses a flipped byte, another kind and another key', function () {
    const sealed = sealRecord(key, 'index', large)
    const bad = Buffer.from(sealed); bad[40] ^= 1
    assert.throws(() => openRecord(key, 'index', bad), { name: 'TamperedDataError' })
    assert.throws(() => openRecord(key, 'snapshot', sealed), { name: 'TamperedDataError' })
    assert.throws(() => openRecord(randomBytes(32), 'index', sealed), { name: 'TamperedDataError' })
  })
})
