import assert from 'node:assert/strict'
import { ReadQueue } from '../../src/backup/read-queue.js'

describe('backup/ReadQueue', function () {
  it('gives the lowest rank first, then the most recently changed, whatever the order of arrival', function () {
    const q = new ReadQueue<string>()
    let seed = 12345
    const next = (): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed }
    const entries = Array.from({ length: 2000 }, (_, i) => ({ rank: next() % 4, mtime: BigInt(next()) * 1000n, item: `f${i}` }))
    for (const e of entries) q.push(e)
    assert.equal(q.size, entries.length)
    const expected = [...entries].sort((a, b) => a.rank - b.rank || (a.mtime > b.mtime ? -1 : a.mtime < b.mtime ? 1 : 0)).map(e => e.item)
    const got: string[] = []
    for (let x = q.pop(); x != null; x = q.pop()) got.push(x)
    // equal (rank, mtime) pairs may come in either order: compare the keys
    const key = new Map(entries.map(e => [e.item, `${e.rank}/${e.mtime}`]))
    assert.deepEqual(got.map(i => key.get(i)), expected.map(i => key.get(i)))
    assert.equal(q.pop(), undefined)
  })
})
