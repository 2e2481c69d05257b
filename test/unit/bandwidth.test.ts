import assert from 'node:assert/strict'
import { limitsAt, parseWindow, RateLimiter, TokenBucket } from '../../src/bandwidth/index.js'

describe('bandwidth/TokenBucket', () => {
  it('sending N bytes in chunks takes N/rate seconds (simulated clock, within 1%)', () => {
    const rate = 1_000_000
    const bucket = new TokenBucket(rate, 64 * 1024, 0)
    let now = 0
    for (let i = 0; i < 1000; i++) now += bucket.reserve(50_000, now) // wait as told, then send
    const expected = (1000 * 50_000 - 64 * 1024) / rate * 1000
    assert.ok(Math.abs(now - expected) / expected < 0.01, `${now} ms, expected ${expected}`)
  })

  it('lets a burst through at once, then makes a large request wait for the tokens it borrowed', () => {
    const b = new TokenBucket(1000, 500, 0)
    assert.equal(b.reserve(500, 0), 0)
    assert.equal(b.reserve(2000, 0), 2000, 'the balance goes negative: 2 s at 1000 B/s')
    assert.equal(b.reserve(0, 2000), 0, 'paid back after 2 s')
  })

  it('refills up to the burst only', () => {
    const b = new TokenBucket(1000, 500, 0)
    b.reserve(500, 0)
    assert.equal(b.reserve(500, 10_000), 0)
    assert.equal(b.reserve(1000, 10_000), 1000)
  })

  it('a rate changed midway applies from then on; 0 and Infinity are unlimited', () => {
    const b = new TokenBucket(1000, 0, 0)
    assert.equal(b.reserve(1000, 0), 1000)
    b.setRate(2000, 1000) // paid back at t=1000
    assert.equal(b.reserve(2000, 1000), 1000)
    b.setRate(0, 1000)
    assert.equal(b.reserve(1e12, 1000), 0)
    assert.equal(new TokenBucket(Infinity, 0, 0).reserve(1e12, 0), 0)
  })
})

describe('bandwidth/time windows', () => {
  it('parses days, ranges, lists, times and limits', () => {
    const w = parseWindow('Mon-Fri 09:00-17:30 up=512KiB down=2MiB')
    assert.deepEqual(w.days, [1, 2, 3, 4, 5])
    assert.equal(w.from, 9 * 60)
    assert.equal(w.to, 17 * 60 + 30)
    assert.equal(w.upload, 512 * 1024)
    assert.equal(w.download, 2 * 1024 * 1024)
    assert.deepEqual(parseWindow('Sat,Sun 00:00-24:00 up=0').days, [0, 6])
    assert.deepEqual(parseWindow('* 22:00-06:00 up=10MiB').days, [0, 1, 2, 3, 4, 5, 6])
    assert.deepEqual(parseWindow('Fri-Mon 10:00-11:00').days, [0, 1, 5, 6], 'a range across the week end')
    assert.equal(parseWindow('* 10:00-11:00 down=1MiB').upload, undefined)
  })

  it('refuses malformed windows with InvalidWindowError', () => {
    for (const bad of ['', 'Mon', 'Mon 9-17', 'Xyz 09:00-10:00', 'Mon 25:00-26:00', 'Mon 09:60-10:00', 'Mon 10:00-10:00', 'Mon 09:00-10:00 up=fast', 'Mon 09:00-10:00 sideways=1']) {
      assert.throws(() => parseWindow(bad), { name: 'InvalidWindowError' }, bad)
    }
  })

  it('limitsAt: inside, outside, a window wrapping midnight belongs to the day it starts on, the first match wins', () => {
    const base = { upload: 100, download: 200 }
    const windows = [parseWindow('Mon-Fri 09:00-17:00 up=10'), parseWindow('Fri 22:00-06:00 up=0 down=0'), parseWindow('* 08:00-18:00 up=50')]
    // 2026-03-02 is a Monday
    assert.deepEqual(limitsAt(base, windows, new Date(2026, 2, 2, 12)), { upload: 10, download: 200 })
    assert.deepEqual(limitsAt(base, windows, new Date(2026, 2, 2, 8, 30)), { upload: 50, download: 200 })
    assert.deepEqual(limitsAt(base, windows, new Date(2026, 2, 2, 20)), base)
    assert.deepEqual(limitsAt(base, windows, new Date(2026, 2, 6, 23)), { upload: 0, download: 0 }, 'Friday night')
    assert.deepEqual(limitsAt(base, windows, new Date(2026, 2, 7, 5)), { upload: 0, download: 0 }, 'early Saturday: Friday\'s window')
    assert.deepEqual(limitsAt(base, windows, new Date(2026, 2, 8, 5)), base, 'early Sunday: no window started on Saturday')
  })
})

describe('bandwidth/RateLimiter', () => {
  it('applies the window in force at each request', async () => {
    let now = new Date(2026, 2, 2, 12).getTime() // Monday noon
    const limiter = new RateLimiter({ upload: 0, download: 0, windows: [parseWindow('Mon 11:00-13:00 up=1000')], burst: 0, now: () => now })
    assert.equal(limiter.limited, true)
    const aborted = AbortSignal.abort()
    await assert.rejects(limiter.upload(5000, aborted), { name: 'AbortedError' }, 'a wait under the window')
    now = new Date(2026, 2, 2, 14).getTime()
    await limiter.upload(1e9) // outside the window: unlimited, resolves at once
  })
})
