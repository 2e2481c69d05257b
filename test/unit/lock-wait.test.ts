import assert from 'node:assert/strict'
import { formatAge, parseDuration } from '../../src/util/duration.js'
import { describeLockHolder, parseLockHolder } from '../../src/util/lock-holder.js'
import { retryUntil } from '../../src/util/retry-until.js'

describe('util/duration', () => {
  it('parseDuration reads units, their sums, and bare seconds', () => {
    const cases: Array<[string, number]> = [
      ['0', 0],
      ['30', 30_000],
      ['1.5', 1500],
      ['30s', 30_000],
      ['5m', 300_000],
      ['2h', 7_200_000],
      ['1d', 86_400_000],
      ['500ms', 500],
      ['1h30m', 5_400_000],
      ['1m30s', 90_000],
      ['2m10s', 130_000],
      ['1.5m', 90_000],
      ['  45S ', 45_000],
      ['0s', 0]
    ]
    for (const [text, want] of cases) assert.equal(parseDuration(text), want, text)
  })

  it('parseDuration rejects what is not a duration', () => {
    for (const bad of ['', 's', '5x', '-5s', '5 m', '1h 30m', '5m-', 'm5', '1e3', '0x10', '5mm', 'five minutes']) {
      assert.throws(() => parseDuration(bad), RangeError, JSON.stringify(bad))
    }
  })

  it('formatAge shows the two largest units, rounded down to the second', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'],
      [999, '0s'],
      [-5000, '0s'],
      [45_000, '45s'],
      [59_999, '59s'],
      [60_000, '1m00s'],
      [130_000, '2m10s'],
      [3_599_000, '59m59s'],
      [3_600_000, '1h00m'],
      [3 * 3_600_000 + 5 * 60_000 + 59_000, '3h05m'],
      [2 * 86_400_000 + 4 * 3_600_000 + 1, '2d4h']
    ]
    for (const [ms, want] of cases) assert.equal(formatAge(ms), want, String(ms))
  })
})

describe('util/lock-holder', () => {
  const now = Date.parse('2025-03-01T12:02:10Z')

  it('names what the holder does, its pid, host and home, and for how long', () => {
    const h = { pid: 1234, hostname: 'x', home: '/h', what: 'backup', since: '2025-03-01T12:00:00Z' }
    assert.equal(describeLockHolder(h, now), 'backup, pid 1234 on host x, home /h, for 2m10s')
  })

  it('leaves out what an older lock file does not record', () => {
    assert.equal(describeLockHolder({ pid: 7, what: 'prune', since: '2025-03-01T12:02:05Z' }, now), 'prune, pid 7, for 5s')
    assert.equal(describeLockHolder({ pid: 7, what: 'prune', since: 'not a time' }, now), 'prune, pid 7')
  })

  it('parses a lock record and keeps only its known fields', () => {
    const text = JSON.stringify({ pid: 42, hostname: 'h1', home: '/home/a', what: 'forget', since: '2025-01-01T00:00:00Z', extra: 1 })
    assert.deepEqual(parseLockHolder(text), { pid: 42, hostname: 'h1', home: '/home/a', what: 'forget', since: '2025-01-01T00:00:00Z' })
    assert.deepEqual(parseLockHolder(JSON.stringify({ pid: 1, what: 'backup', since: 's' })), { pid: 1, what: 'backup', since: 's' })
  })

  it('takes a torn, empty or foreign lock file for no record', () => {
    for (const bad of ['', '{"pid":12', 'null', '[]', '42', '{"pid":"12","what":"backup","since":"s"}', '{"pid":1.5,"what":"backup","since":"s"}', '{"pid":1,"since":"s"}']) {
      assert.equal(parseLockHolder(bad), undefined, bad)
    }
  })
})

describe('util/retryUntil', () => {
  it('tries once when there is no time to wait', async () => {
    let calls = 0
    assert.equal(await retryUntil(async () => { calls++; return undefined }), undefined)
    assert.equal(calls, 1)
  })

  it('returns the first value an attempt gives, within the wait', async () => {
    let calls = 0
    const got = await retryUntil(async () => ++calls === 3 ? 'taken' : undefined, { wait: 5000, intervalMs: 5 })
    assert.equal(got, 'taken')
    assert.equal(calls, 3)
  })

  it('gives up once the wait has passed, after trying again at its end', async () => {
    let calls = 0
    const started = Date.now()
    assert.equal(await retryUntil(async () => { calls++; return undefined }, { wait: 150, intervalMs: 20 }), undefined)
    const took = Date.now() - started
    assert.ok(took >= 150 && took < 1000, `took ${took} ms`)
    assert.ok(calls >= 3, `${calls} attempts`)
  })

  it('stops waiting as soon as the signal aborts, with its reason', async () => {
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('stop')), 30)
    const started = Date.now()
    await assert.rejects(retryUntil(async () => undefined, { wait: 60_000, intervalMs: 10_000, signal: ac.signal }), (err: Error) => err.name === 'AbortError' || err.message === 'stop')
    assert.ok(Date.now() - started < 2000)
  })
})
