import assert from 'node:assert/strict'
import { carryAbsence, newRhythm, noteAbsence, OVERDUE_SLACK_MS, overdueAfter, parseRhythm, RHYTHM_DAYS, RHYTHM_MIN_DAYS, usualAbsence } from '../../src/node/rhythm.js'

const HOUR = 3600_000
const DAY = 24 * HOUR
const T0 = Date.UTC(2026, 0, 5)

describe('node/rhythm', () => {
  it('is unknown until enough days of the window were watched; then the longest absence of the window', () => {
    let r = newRhythm()
    assert.equal(usualAbsence(undefined, T0), undefined)
    // a NAS never seen away: usual absence 0 once seen on a week of days
    for (let d = 0; d < RHYTHM_MIN_DAYS; d++) {
      assert.equal(usualAbsence(r, T0 + d * DAY), undefined)
      r = noteAbsence(r, T0 + d * DAY + HOUR)
      assert.equal(r.days.at(-1)?.[0], Math.floor((T0 + d * DAY) / DAY))
    }
    assert.equal(usualAbsence(r, T0 + (RHYTHM_MIN_DAYS - 1) * DAY), 0)
    // a desktop off ten hours a night, once eleven hours
    r = newRhythm()
    for (let d = 0; d < 8; d++) r = noteAbsence(r, T0 + d * DAY + 8 * HOUR, (d === 2 ? 11 : 10) * HOUR)
    assert.equal(usualAbsence(r, T0 + 8 * DAY), 11 * HOUR)
    // several absences ending the same day: the longest is kept; a day seen adds nothing to it
    r = noteAbsence(r, T0 + 8 * DAY + HOUR, 3 * HOUR)
    r = noteAbsence(r, T0 + 8 * DAY + 9 * HOUR, 12 * HOUR)
    r = noteAbsence(r, T0 + 8 * DAY + 20 * HOUR, 2 * HOUR)
    assert.equal(noteAbsence(r, T0 + 8 * DAY + 21 * HOUR), r)
    assert.deepEqual(r.days.at(-1), [Math.floor((T0 + 8 * DAY) / DAY), 12 * HOUR])
    assert.equal(r.days.length, 9)
    // a day recorded by a clock set in the future is dropped when the next real day is noted
    const skewed = noteAbsence(r, T0 + 40 * DAY, HOUR)
    assert.ok(noteAbsence(skewed, T0 + 9 * DAY).days.every(([d]) => d <= Math.floor((T0 + 9 * DAY) / DAY)))
  })

  it('forgets days older than the window: back from holidays, a peer is held to its daily rhythm; this node back from weeks off knows nothing', () => {
    let r = newRhythm()
    const back = 8 // back from two weeks away on day 8, after a week seen every day
    for (let d = 0; d <= back; d++) r = noteAbsence(r, T0 + d * DAY, d === back ? 14 * DAY : 9 * HOUR)
    assert.equal(usualAbsence(r, T0 + back * DAY + HOUR), 14 * DAY)
    for (let d = back + 1; d < back + RHYTHM_DAYS; d++) r = noteAbsence(r, T0 + d * DAY, 9 * HOUR)
    assert.equal(usualAbsence(r, T0 + (back + RHYTHM_DAYS - 1) * DAY), 14 * DAY)
    r = noteAbsence(r, T0 + (back + RHYTHM_DAYS) * DAY, 9 * HOUR)
    assert.equal(usualAbsence(r, T0 + (back + RHYTHM_DAYS) * DAY), 9 * HOUR)
    assert.ok(r.days.length <= RHYTHM_DAYS)
    // this node itself off for three weeks: the old record says nothing of today
    assert.equal(usualAbsence(r, T0 + (back + RHYTHM_DAYS + 21) * DAY), undefined)
    // nothing that is not a time or an absence changes the record
    assert.equal(noteAbsence(r, T0, -1), r)
    assert.equal(noteAbsence(r, Number.NaN, HOUR), r)
  })

  it('carries what was watched of an absence across this node\'s breaks, into the absence noted when the peer is seen again', () => {
    let r = noteAbsence(newRhythm(), T0, 0)
    r = carryAbsence(r, 3 * HOUR) // watched three hours, then this node stopped
    r = carryAbsence(r, 2 * HOUR) // and two more after its restart, then it slept
    assert.equal(r.carriedMs, 5 * HOUR)
    assert.equal(usualAbsence(r, T0), undefined)
    assert.equal(carryAbsence(r, 0), r)
    assert.equal(carryAbsence(r, Number.NaN), r)
    // seen again: presence notes the whole (carried + watched since), nothing is carried any more
    const seen = noteAbsence(r, T0 + DAY, r.carriedMs! + HOUR)
    assert.deepEqual(seen, { days: [[Math.floor(T0 / DAY), 0], [Math.floor(T0 / DAY) + 1, 6 * HOUR]] })
    // a day already noted, seen again: the carry is dropped all the same
    assert.equal(noteAbsence(carryAbsence(seen, HOUR), T0 + DAY + HOUR).carriedMs, undefined)
    assert.equal(parseRhythm({ days: [], carriedMs: 7 })!.carriedMs, 7)
    for (const bad of [-1, 'x', Number.POSITIVE_INFINITY]) assert.equal(parseRhythm({ days: [], carriedMs: bad })!.carriedMs, undefined)
  })

  it('overdue after a quarter more than usual, never within the slack', () => {
    assert.equal(overdueAfter(0), OVERDUE_SLACK_MS)
    assert.equal(overdueAfter(HOUR), HOUR + OVERDUE_SLACK_MS)
    assert.equal(overdueAfter(16 * HOUR), 20 * HOUR)
  })

  it('parses what a file holds, dropping what is malformed, never throwing', () => {
    assert.deepEqual(parseRhythm({ days: [[4, 0], [1, 5], ['x', 2], [2, -1], [3, 7, 9], [1, 9]], extra: 1 }), { days: [[1, 9], [4, 0]] })
    for (const bad of [null, 7, 'x', {}, { days: 'x' }]) assert.equal(parseRhythm(bad), undefined, JSON.stringify(bad))
    assert.equal(parseRhythm({ days: Array.from({ length: 100 }, (_, i) => [i, 1]) })!.days.length, RHYTHM_DAYS)
  })
})
