import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { BlobIndex, type BlobLocation } from '../../src/repository/blob-index.js'
import type { BlobType } from '../../src/format/format.js'

describe('BlobIndex (the compact blob locations)', function () {
  it('answers as a Map of the first location of each id would, through growth', function () {
    const index = new BlobIndex()
    const model = new Map<string, BlobLocation>()
    const packs = Array.from({ length: 37 }, () => randomBytes(32).toString('hex'))
    const types: BlobType[] = ['data', 'tree', 'index']
    const ids: string[] = []
    for (let i = 0; i < 50_000; i++) {
      // one id in ten is one already added: its first location stays
      const id = i > 0 && i % 10 === 0 ? ids[(i * 7919) % ids.length] : randomBytes(32).toString('hex')
      ids.push(id)
      const loc: BlobLocation = { pack: packs[i % packs.length], type: types[i % 3], offset: (i * 4099) >>> 0, length: 1 + i % 70_000, rawLength: 2 ** 32 - 1 - i }
      const added = index.add(id, loc)
      assert.equal(added, !model.has(id))
      if (!model.has(id)) model.set(id, loc)
    }
    assert.equal(index.size, model.size)
    for (const [id, loc] of model) assert.deepEqual(index.get(id), loc)
    for (let i = 0; i < 1000; i++) {
      const absent = randomBytes(32).toString('hex')
      assert.equal(index.has(absent), false)
      assert.equal(index.get(absent), undefined)
    }
    assert.ok(index.bytes / index.size < 110, `about 70 bytes a blob (${(index.bytes / index.size).toFixed(0)})`)
  })

  it('is empty after clear, and refuses what is not a 32-byte hex id', function () {
    const index = new BlobIndex()
    const id = randomBytes(32).toString('hex')
    index.add(id, { pack: 'p', type: 'data', offset: 1, length: 2, rawLength: 3 })
    assert.equal(index.has(id), true)
    index.clear()
    assert.equal(index.size, 0)
    assert.equal(index.has(id), false)
    assert.equal(index.has('abc'), false)
    assert.equal(index.has('zz'.repeat(32)), false)
    assert.throws(() => index.add('not hex', { pack: 'p', type: 'data', offset: 0, length: 0, rawLength: 0 }), /not a blob id/)
  })
})
