import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { ByteBudget } from '../../src/util/byte-budget.js'
import { formatBytes, formatDuration, parseSize } from '../../src/util/format.js'

/** Lets every pending promise callback run. */
async function settle (): Promise<void> {
  for (let i = 0; i < 5; i++) await tick()
}

/** Tracks whether a promise has settled, without awaiting it. */
function track (p: Promise<void>): { done: () => boolean, error: () => unknown, promise: Promise<void> } {
  let done = false
  let error: unknown
  const promise = p.then(() => { done = true }, (err) => { done = true; error = err })
  return { done: () => done, error: () => error, promise }
}

describe('util/ByteBudget', () => {
  it('lets requests through while they fit', async () => {
    const b = new ByteBudget(100)
    await b.acquire(40)
    await b.acquire(60) // exactly full
    const t = track(b.acquire(1))
    await settle()
    assert.equal(t.done(), false)
    b.release(1)
    await settle()
    assert.equal(t.done(), true)
  })

  it('waits when full and continues after a release', async () => {
    const b = new ByteBudget(100)
    await b.acquire(80)
    const t = track(b.acquire(30))
    await settle()
    assert.equal(t.done(), false)
    b.release(40) // 40 + 30 fits
    await settle()
    assert.equal(t.done(), true)
    assert.equal(t.error(), undefined)
  })

  it('releases waiters in order (FIFO), even when a later one would fit first', async () => {
    const b = new ByteBudget(100)
    await b.acquire(100)
    const order: string[] = []
    const big = b.acquire(60).then(() => { order.push('big') })
    const small = b.acquire(10).then(() => { order.push('small') })
    await settle()
    assert.deepEqual(order, [])
    b.release(30) // 70 held: small (10) would fit, but big (60) is first in line
    await settle()
    assert.deepEqual(order, [])
    b.release(30) // 40 held: big fits (100), then small does not
    await settle()
    assert.deepEqual(order, ['big'])
    b.release(10) // 90 held: small fits
    await Promise.all([big, small])
    assert.deepEqual(order, ['big', 'small'])
  })

  it('a new request queues behind waiters even if it would fit (no overtaking)', async () => {
    const b = new ByteBudget(100)
    await b.acquire(50)
    const order: number[] = []
    const first = b.acquire(60).then(() => { order.push(1) })
    const second = b.acquire(5).then(() => { order.push(2) })
    await settle()
    assert.deepEqual(order, [])
    b.release(50)
    await Promise.all([first, second])
    assert.deepEqual(order, [1, 2])
  })

  it('one release can wake several waiters', async () => {
    const b = new ByteBudget(100)
    await b.acquire(100)
    const ts = [track(b.acquire(30)), track(b.acquire(30)), track(b.acquire(30)), track(b.acquire(30))]
    b.release(100)
    await settle()
    assert.deepEqual(ts.map(t => t.done()), [true, true, true, false])
    b.release(30)
    await settle()
    assert.equal(ts[3].done(), true)
  })

  it('an oversized request passes when nothing is held', async () => {
    const b = new ByteBudget(100)
    await b.acquire(1000) // would deadlock otherwise
    const t = track(b.acquire(1))
    await settle()
    assert.equal(t.done(), false)
    b.release(1000)
    await settle()
    assert.equal(t.done(), true)
  })

  it('an oversized waiter passes once everything is released', async () => {
    const b = new ByteBudget(100)
    await b.acquire(10)
    const t = track(b.acquire(500))
    await settle()
    assert.equal(t.done(), false)
    b.release(10)
    await settle()
    assert.equal(t.done(), true)
  })

  it('abort while waiting rejects with AbortedError and frees the place in line', async () => {
    const b = new ByteBudget(100)
    await b.acquire(100)
    const ac = new AbortController()
    const aborted = track(b.acquire(50, ac.signal))
    const next = track(b.acquire(50))
    await settle()
    ac.abort()
    await settle()
    assert.equal(aborted.done(), true)
    assert.equal((aborted.error() as Error)?.name, 'AbortedError')
    assert.equal(next.done(), false)
    b.release(50)
    await settle()
    assert.equal(next.done(), true) // the aborted request took nothing
    // 100 held now: one more waits
    const last = track(b.acquire(1))
    await settle()
    assert.equal(last.done(), false)
    b.release(50)
    await settle()
    assert.equal(last.done(), true)
  })

  it('aborting after the request was granted changes nothing', async () => {
    const b = new ByteBudget(100)
    await b.acquire(100)
    const ac = new AbortController()
    const t = track(b.acquire(40, ac.signal))
    b.release(100)
    await settle()
    assert.equal(t.done(), true)
    ac.abort()
    await settle()
    assert.equal(t.error(), undefined)
    // 40 still held
    const u = track(b.acquire(61))
    await settle()
    assert.equal(u.done(), false)
    b.release(40)
    await settle()
    assert.equal(u.done(), true)
  })

  // Known bug (src/util/byte-budget.ts, acquire): the abort listener is added with
  // signal.addEventListener('abort', ...), which never fires for a signal that is already aborted.
  // A request that has to wait with an already-aborted signal therefore never settles (it hangs until some
  // release grants it) instead of rejecting with AbortedError.
  it('an already-aborted signal rejects a request that would wait', async () => {
    const b = new ByteBudget(100)
    await b.acquire(100)
    const ac = new AbortController()
    ac.abort()
    const t = track(b.acquire(10, ac.signal))
    await settle()
    assert.equal(t.done(), true, 'acquire with an aborted signal did not settle')
    assert.equal((t.error() as Error)?.name, 'AbortedError')
    b.release(100)
  })

  // Known bug (src/util/byte-budget.ts, the abort listener in acquire): removing an aborted waiter from the
  // head of the queue does not wake the waiters behind it. With 80 of 100 held, a waiter for 50 at the head
  // and a waiter for 10 behind it, aborting the first leaves the second waiting although 80 + 10 fits; it
  // is only granted at the next release(), and never if the holder is itself waiting for it.
  it('aborting the head waiter lets the waiters behind it through when they fit', async () => {
    const b = new ByteBudget(100)
    await b.acquire(80)
    const ac = new AbortController()
    const head = track(b.acquire(50, ac.signal))
    const behind = track(b.acquire(10))
    await settle()
    assert.equal(behind.done(), false)
    ac.abort()
    await settle()
    assert.equal((head.error() as Error)?.name, 'AbortedError')
    assert.equal(behind.done(), true, 'the waiter behind the aborted one is still waiting')
    b.release(90)
  })
})

describe('util/format', () => {
  it('parseSize reads plain numbers and binary suffixes', () => {
    const cases: Array<[string, number]> = [
      ['100', 100],
      ['0', 0],
      ['16MiB', 16 * 1024 * 1024],
      ['512k', 512 * 1024],
      ['512K', 512 * 1024],
      ['512KiB', 512 * 1024],
      ['512kb', 512 * 1024],
      ['1G', 1024 ** 3],
      ['1g', 1024 ** 3],
      ['2GiB', 2 * 1024 ** 3],
      ['1T', 1024 ** 4],
      ['4M', 4 * 1024 ** 2],
      ['1.5M', 1.5 * 1024 ** 2],
      ['64 KiB', 64 * 1024],
      ['  8m  ', 8 * 1024 ** 2],
      ['100B', 100],
      ['1048576', 1048576]
    ]
    for (const [text, want] of cases) assert.equal(parseSize(text), want, text)
  })

  it('parseSize rejects what is not a size', () => {
    for (const bad of ['', 'abc', '-1', '1X', '1.2.3', 'M', '1 M B', '0x10', '1e6']) {
      assert.throws(() => parseSize(bad), RangeError, JSON.stringify(bad))
    }
  })

  it('formatBytes uses binary units', () => {
    const cases: Array<[number, string]> = [
      [0, '0 B'],
      [1, '1 B'],
      [1023, '1023 B'],
      [1024, '1.00 KiB'],
      [1536, '1.50 KiB'],
      [10 * 1024, '10.0 KiB'],
      [512 * 1024, '512.0 KiB'],
      [16 * 1024 * 1024, '16.0 MiB'],
      [1024 ** 3, '1.00 GiB'],
      [1.25 * 1024 ** 4, '1.25 TiB'],
      [2048 * 1024 ** 4, '2048.0 TiB']
    ]
    for (const [n, want] of cases) assert.equal(formatBytes(n), want, String(n))
  })

  it('formatDuration gives mm:ss, or h:mm:ss from an hour on', () => {
    const cases: Array<[number, string]> = [
      [0, '00:00'],
      [499, '00:00'],
      [500, '00:01'],
      [1000, '00:01'],
      [59_000, '00:59'],
      [59_600, '01:00'],
      [61_000, '01:01'],
      [10 * 60_000, '10:00'],
      [3_599_000, '59:59'],
      [3_600_000, '1:00:00'],
      [3_661_000, '1:01:01'],
      [100 * 3_600_000 + 5_000, '100:00:05']
    ]
    for (const [ms, want] of cases) assert.equal(formatDuration(ms), want, String(ms))
  })

  it('formatDuration shows --:-- for an unknown duration', () => {
    assert.equal(formatDuration(Infinity), '--:--')
    assert.equal(formatDuration(NaN), '--:--')
  })
})
