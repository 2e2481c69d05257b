import assert from 'node:assert/strict'
import { newRhythm, noteAbsence, OVERDUE_SLACK_MS, overdueAfter, parseRhythm, RHYTHM_DAYS, RHYTHM_MIN_DAYS, usualAbsence, watchedOn } from '../../src/node/rhythm.js'

const HOUR = 3600_000
const DAY = 24 * HOUR
const T0 = Date.UTC(2026, 0, 5)

describe('node/rhythm', () => {
  it('is unknown until enough days of the window were watched; then the longest absence of the window', () => {
    let r = newRhythm()
    assert.equal(usualAbsence(undefined, T0), undefined)
    // a NAS never seen away: usual absence 0 once watched on three days
    for (let d = 0; d < RHYTHM_MIN_DAYS; d++) {
      assert.equal(usualAbsence(r, T0 + d * DAY), undefined)
      assert.equal(watchedOn(r, T0 + d * DAY), false)
      r = noteAbsence(r, T0 + d * DAY + HOUR)
      assert.equal(watchedOn(r, T0 + d * DAY), true)
    }
    assert.equal(usualAbsence(r, T0 + (RHYTHM_MIN_DAYS - 1) * DAY), 0)
    // a desktop off ten hours a night, once eleven hours
    r = newRhythm()
    for (let d = 0; d < 5; d++) r = noteAbsence(r, T0 + d * DAY + 8 * HOUR, (d === 2 ? 11 : 10) * HOUR)
    assert.equal(usualAbsence(r, T0 + 5 * DAY), 11 * HOUR)
    // several absences ending the same day: the longest is kept; a watched day adds nothing to it
    r = noteAbsence(r, T0 + 5 * DAY + HOUR, 3 * HOUR)
    r = noteAbsence(r, T0 + 5 * DAY + 9 * HOUR, 12 * HOUR)
    r = noteAbsence(r, T0 + 5 * DAY + 20 * HOUR, 2 * HOUR)
    assert.equal(noteAbsence(r, T0 + 5 * DAY + 21 * HOUR), r)
    assert.deepEqual(r.days.at(-1), [Math.floor((T0 + 5 * DAY) / DAY), 12 * HOUR])
    assert.equal(r.days.length, 6)
  })

  it('forgets days older than the window: back from holidays, a peer is held to its daily rhythm; this node back from weeks off knows nothing', () => {
    let r = newRhythm()
    for (let d = 0; d < 4; d++) r = noteAbsence(r, T0 + d * DAY, d === 3 ? 14 * DAY : 9 * HOUR) // back from two weeks away on day 3
    assert.equal(usualAbsence(r, T0 + 3 * DAY + HOUR), 14 * DAY)
    for (let d = 4; d < 3 + RHYTHM_DAYS; d++) r = noteAbsence(r, T0 + d * DAY, 9 * HOUR)
    assert.equal(usualAbsence(r, T0 + (2 + RHYTHM_DAYS) * DAY), 14 * DAY)
    r = noteAbsence(r, T0 + (3 + RHYTHM_DAYS) * DAY, 9 * HOUR)
    assert.equal(usualAbsence(r, T0 + (3 + RHYTHM_DAYS) * DAY), 9 * HOUR)
    assert.ok(r.days.length <= RHYTHM_DAYS)
    // this node itself off for three weeks: the old record says nothing of today
    assert.equal(usualAbsence(r, T0 + (3 + RHYTHM_DAYS + 21) * DAY), undefined)
    // nothing that is not a time or an absence changes the record
    assert.equal(noteAbsence(r, T0, -1), r)
    assert.equal(noteAbsence(r, Number.NaN, HOUR), r)
  })

  it('overdue after a quarter more than usual, never within the slack', () => {
    assert.equal(overdueAfter(0), OVERDUE_SLACK_MS)
    assert.equal(overdueAfter(HOUR), HOUR + OVERDUE_SLACK_MS)
    assert.equal(overdueAfter(16 * HOUR), 20 * HOUR)
  })

  it('parses what a file holds, dropping what is malformed, never throwing', () => {
    assert.deepEqual(parseRhythm({ days: [[1, 5], ['x', 2], [2, -1], [3, 7, 9], [4, 0]], open: 60_000 }), { days: [[1, 5], [4, 0]], open: 60_000 })
    assert.deepEqual(parseRhythm({ days: [], open: -5 }), { days: [] })
    for (const bad of [null, 7, 'x', {}, { days: 'x' }]) assert.equal(parseRhythm(bad), undefined, JSON.stringify(bad))
    assert.equal(parseRhythm({ days: Array.from({ length: 100 }, (_, i) => [i, 1]) })!.days.length, RHYTHM_DAYS)
  })
})
