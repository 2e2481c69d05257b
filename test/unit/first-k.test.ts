import assert from 'node:assert/strict'
import { firstK } from '../../src/repository/first-k.js'

/** A fetch that answers after `ms` with `value` (null: a bad result), or never (ms = Infinity), honouring its signal. */
function answer<T> (ms: number, value: T | null, seen: { aborted: number[] }, index: number): (signal: AbortSignal) => Promise<T | null> {
  return async (signal) => await new Promise((resolve, reject) => {
    const onAbort = (): void => {
      if (timer != null) clearTimeout(timer)
      seen.aborted.push(index)
      const e = new Error('aborted'); e.name = 'AbortedError'; reject(e)
    }
    const timer = Number.isFinite(ms) ? setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(value) }, ms) : undefined
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

describe('repository/firstK (fastest k of n)', function () {
  it('starts k fetches in the given order and returns their results', async function () {
    const started: number[] = []
    const got = await firstK([2, 0, 1, 3], 2, async (i) => { started.push(i); return `r${i}` })
    assert.deepEqual(started, [2, 0])
    assert.deepEqual([...got.entries()].sort(), [[0, 'r0'], [2, 'r2']])
  })

  it('a bad result or a failure starts the next candidate', async function () {
    const started: number[] = []
    const got = await firstK([0, 1, 2, 3, 4], 3, async (i) => {
      started.push(i)
      if (i === 1) return null
      if (i === 2) throw Object.assign(new Error('unreachable'), { name: 'AbortedError' })
      return i
    })
    assert.deepEqual([...got.keys()].sort(), [0, 3, 4])
    assert.deepEqual(started.sort(), [0, 1, 2, 3, 4])
  })

  it('returns fewer than k when the candidates run out (the caller decides)', async function () {
    const got = await firstK([0, 1, 2], 2, async (i) => i === 0 ? 'ok' : null)
    assert.deepEqual([...got.keys()], [0])
  })

  it('a silent store costs the hedge delay, not a timeout; the slow fetch is aborted once k are in', async function () {
    const seen = { aborted: [] as number[] }
    const delays = [10, Infinity, 10, 10, 10]
    const t0 = Date.now()
    const got = await firstK([0, 1, 2, 3, 4], 3, async (i, signal) => await answer(delays[i], i, seen, i)(signal), { hedgeMs: 100, spares: 2 })
    const ms = Date.now() - t0
    assert.deepEqual([...got.keys()].sort(), [0, 2, 3])
    assert.ok(ms < 2_000, `took ${ms} ms`)
    assert.deepEqual(seen.aborted, [1], 'the fetch from the silent store was aborted')
  })

  it('without spares a silent store is waited for', async function () {
    const seen = { aborted: [] as number[] }
    const delays = [10, 300, 10]
    const got = await firstK([0, 1, 2], 2, async (i, signal) => await answer(delays[i], i, seen, i)(signal), { hedgeMs: 20, spares: 0 })
    assert.deepEqual([...got.keys()].sort(), [0, 1])
  })

  it('the caller\'s abort rejects with AbortedError and aborts the fetches under way', async function () {
    const seen = { aborted: [] as number[] }
    const controller = new AbortController()
    const p = firstK([0, 1], 2, async (i, signal) => await answer(Infinity, i, seen, i)(signal), { signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await assert.rejects(p, { name: 'AbortedError' })
    assert.deepEqual(seen.aborted.sort(), [0, 1])
    await assert.rejects(firstK([0], 1, async () => 1, { signal: AbortSignal.abort() }), { name: 'AbortedError' })
  })

  it('an unexpected error is passed on', async function () {
    await assert.rejects(firstK([0, 1], 1, async () => { throw new TypeError('bug') }), { name: 'TypeError' })
  })
})
