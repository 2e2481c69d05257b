import assert from 'node:assert/strict'
import { parseCron } from '../../src/schedule/index.js'

/** Local wall-clock dates, as the schedules compute them. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): Date => new Date(y, mo - 1, d, h, mi, s)
const next = (expr: string, from: Date): Date => parseCron(expr).next(from)

describe('schedule/cron', () => {
  it('every minute, strictly after the given time, seconds zero', () => {
    assert.deepEqual(next('* * * * *', at(2026, 3, 1, 10, 0, 0)), at(2026, 3, 1, 10, 1))
    assert.deepEqual(next('* * * * *', at(2026, 3, 1, 10, 0, 30)), at(2026, 3, 1, 10, 1))
  })

  it('steps, ranges and lists', () => {
    assert.deepEqual(next('*/15 * * * *', at(2026, 3, 1, 10, 1)), at(2026, 3, 1, 10, 15))
    assert.deepEqual(next('*/15 * * * *', at(2026, 3, 1, 10, 45)), at(2026, 3, 1, 11, 0))
    assert.deepEqual(next('0 9-17/4 * * *', at(2026, 3, 1, 10)), at(2026, 3, 1, 13))
    assert.deepEqual(next('0 9-17/4 * * *', at(2026, 3, 1, 17, 30)), at(2026, 3, 2, 9))
    assert.deepEqual(next('5,35 * * * *', at(2026, 3, 1, 10, 6)), at(2026, 3, 1, 10, 35))
    assert.deepEqual(next('30 2 * * *', at(2026, 3, 1, 3)), at(2026, 3, 2, 2, 30))
  })

  it('month and day names, 7 as Sunday', () => {
    // 2026-03-01 is a Sunday
    assert.deepEqual(next('0 8 * * mon-fri', at(2026, 2, 28, 9)), at(2026, 3, 2, 8))
    assert.deepEqual(next('0 0 * * 7', at(2026, 2, 28, 9)), at(2026, 3, 1))
    assert.deepEqual(next('0 0 1 JUN *', at(2026, 3, 1)), at(2026, 6, 1))
  })

  it('day of month OR day of week when both are restricted', () => {
    // the 13th, or any Friday: after Sun 2026-03-01, the first is Fri 03-06
    assert.deepEqual(next('0 0 13 * fri', at(2026, 3, 1)), at(2026, 3, 6))
    assert.deepEqual(next('0 0 13 * fri', at(2026, 3, 12, 1)), at(2026, 3, 13))
  })

  it('a 6-field expression has seconds first', () => {
    assert.deepEqual(next('*/10 * * * * *', at(2026, 3, 1, 10, 0, 1)), at(2026, 3, 1, 10, 0, 10))
    assert.deepEqual(next('30 0 12 * * *', at(2026, 3, 1, 12, 0, 30)), at(2026, 3, 2, 12, 0, 30))
  })

  it('macros', () => {
    assert.deepEqual(next('@hourly', at(2026, 3, 1, 10, 5)), at(2026, 3, 1, 11))
    assert.deepEqual(next('@daily', at(2026, 3, 1, 10)), at(2026, 3, 2))
    assert.deepEqual(next('@weekly', at(2026, 3, 2)), at(2026, 3, 8))
    assert.deepEqual(next('@monthly', at(2026, 3, 2)), at(2026, 4, 1))
    assert.deepEqual(next('@yearly', at(2026, 3, 2)), at(2027, 1, 1))
  })

  it('rolls over months and years, and finds leap days', () => {
    assert.deepEqual(next('0 0 31 * *', at(2026, 4, 1)), at(2026, 5, 31))
    assert.deepEqual(next('0 0 1 1 *', at(2026, 12, 31, 23, 59)), at(2027, 1, 1))
    assert.deepEqual(next('0 0 29 2 *', at(2026, 3, 1)), at(2028, 2, 29))
  })

  it('refuses malformed and impossible expressions with CronError', () => {
    for (const bad of ['', '* * * *', '* * * * * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '*/0 * * * *', '5-1 * * * *', '* * * * funday', '@often', 'a * * * *', '1,,2 * * * *', '0 0 30 2 *']) {
      assert.throws(() => parseCron(bad), { name: 'CronError' }, JSON.stringify(bad))
    }
  })
})
