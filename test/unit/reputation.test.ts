import assert from 'node:assert/strict'
import {
  CLEAR_PASSES, CLEAR_PASS_RATE, DEFAULT_HALF_LIFE_MS, PENALTY_STRIKES, PRIOR_ONLINE_MS, RECOVERY_PASSES,
  WARNED_SCORE_FACTOR, WARNING_NOTICE_MS, availability, newReputation, parseReputation, passRate, score,
  updateReputation
} from '../../src/audit/index.js'
import type { Reputation, ReputationEvent } from '../../src/audit/index.js'
import { seededRandom } from './seeded-random.js'

const HOUR = 3600 * 1000
const DAY = 24 * HOUR
const WEEK = 7 * DAY
const T0 = Date.UTC(2025, 0, 1)

function throwsNamed (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

const close = (a: number, b: number, eps = 1e-9): void => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`)

/** Applies events in order. */
function apply (rec: Reputation, events: ReputationEvent[]): Reputation {
  return events.reduce((r, e) => updateReputation(r, e), rec)
}

/** `count` events of `type`, one every `everyMs` starting at `from`. */
function every (type: ReputationEvent['type'], count: number, from: number, everyMs: number): ReputationEvent[] {
  return Array.from({ length: count }, (_, i) => ({ type, at: from + i * everyMs }))
}

describe('audit/reputation', () => {
  it('starts good, with pass rate, availability and score 1', () => {
    const r = newReputation(T0)
    assert.equal(r.state, 'good')
    assert.equal(passRate(r, T0), 1)
    assert.equal(availability(r, T0 + WEEK), 1, 'time before any presence event is not observed')
    assert.equal(score(r, T0), 1)
    assert.equal(DEFAULT_HALF_LIFE_MS, WEEK)
  })

  it('is a plain JSON object, and leaves the given record as it was', () => {
    const r = apply(newReputation(T0), [{ type: 'online', at: T0 }, { type: 'pass', at: T0 + HOUR }, { type: 'fail', at: T0 + 2 * HOUR }])
    const copy = structuredClone(r)
    updateReputation(r, { type: 'fail', at: T0 + 2 * DAY })
    assert.deepEqual(r, copy)
    const back = parseReputation(JSON.parse(JSON.stringify(r)))
    assert.deepEqual(back, r)
    assert.equal(score(back, T0 + DAY), score(r, T0 + DAY))
    for (const bad of [null, 'x', { ...r, v: 2 }, { ...r, state: 'banned' }, { ...r, passes: -1 }, { ...r, at: null },
      { ...r, online: 'yes' }, { ...r, streak: 1.5 }, { ...r, onlineMs: r.observedMs + 1000 }]) {
      throwsNamed(() => parseReputation(bad), 'UnsupportedFormatError')
    }
  })

  describe('pass rate', () => {
    it('counts passes and failures with one prior pass', () => {
      let r = apply(newReputation(T0), every('pass', 3, T0, 0))
      close(passRate(r, T0), 1)
      r = updateReputation(r, { type: 'fail', at: T0 })
      close(passRate(r, T0), 4 / 5)
    })

    it('decay lets an old failure fade', () => {
      const r = updateReputation(newReputation(T0), { type: 'fail', at: T0 })
      close(passRate(r, T0), 1 / 2) // the prior pass against one failure
      close(passRate(r, T0 + WEEK), 1 / 1.5) // a half-life later the failure weighs 1/2
      close(passRate(r, T0 + 4 * WEEK), 1 / (1 + 1 / 16))
      assert.ok(passRate(r, T0 + 20 * WEEK) > 0.9999)
      // A shorter half-life fades it faster.
      close(passRate(r, T0 + WEEK, { halfLifeMs: DAY }), 1 / (1 + 2 ** -7))
      // Against a steady record of passes (one a day), a failure 8 weeks old barely shows.
      const history = apply(newReputation(T0), [{ type: 'fail', at: T0 }, ...every('pass', 56, T0 + DAY, DAY)])
      const recent = apply(newReputation(T0), [...every('pass', 55, T0, DAY), { type: 'fail', at: T0 + 55 * DAY }])
      assert.ok(passRate(history, T0 + 56 * DAY) > 0.999)
      assert.ok(passRate(recent, T0 + 56 * DAY) < 0.92)
    })

    it('is not lowered by a week offline (offline is not an audit failure)', () => {
      const base = apply(newReputation(T0), [{ type: 'online', at: T0 }, ...every('pass', 20, T0, HOUR), { type: 'fail', at: T0 + DAY }])
      const away = apply(base, [{ type: 'offline', at: T0 + 2 * DAY }, { type: 'online', at: T0 + 9 * DAY }])
      const stayed = apply(base, [{ type: 'online', at: T0 + 2 * DAY }, { type: 'online', at: T0 + 9 * DAY }])
      const end = T0 + 9 * DAY
      assert.equal(passRate(away, end), passRate(stayed, end))
      assert.ok(passRate(away, end) >= passRate(base, T0 + 2 * DAY))
      assert.equal(away.state, base.state)
      assert.equal(away.strikes, base.strikes)
      assert.ok(availability(away, end) < availability(stayed, end))
      // Even a penalised-to-be peer gets no strike for being away.
      const gone = apply(newReputation(T0), [{ type: 'online', at: T0 }, { type: 'offline', at: T0 + HOUR }])
      assert.equal(updateReputation(gone, { type: 'offline', at: T0 + 30 * DAY }).state, 'good')
    })
  })

  describe('availability', () => {
    it('is the decayed fraction of the observed time online', () => {
      // Online for 3 days, then offline for 1: with decay weights 2^(-age / week) on each moment.
      const r = apply(newReputation(T0), [{ type: 'online', at: T0 }, { type: 'offline', at: T0 + 3 * DAY }])
      const h = WEEK / Math.LN2
      const online = h * (2 ** (-1 / 7) - 2 ** (-4 / 7))
      const observed = h * (1 - 2 ** (-4 / 7))
      close(availability(r, T0 + 4 * DAY), (online + PRIOR_ONLINE_MS) / (observed + PRIOR_ONLINE_MS), 1e-12)
      assert.ok(Math.abs(availability(r, T0 + 4 * DAY) - 0.71) < 0.01)
      // Always online: 1; away for long: close to 0, never 0.
      const up = updateReputation(newReputation(T0), { type: 'online', at: T0 })
      close(availability(up, T0 + 30 * DAY), 1)
      const down = updateReputation(newReputation(T0), { type: 'offline', at: T0 })
      const a = availability(down, T0 + 60 * DAY)
      assert.ok(a > 0 && a < 0.01, String(a))
    })

    it('comes back once the peer is online again', () => {
      const r = apply(newReputation(T0), [{ type: 'online', at: T0 }, { type: 'offline', at: T0 + WEEK }, { type: 'online', at: T0 + 2 * WEEK }])
      const low = availability(r, T0 + 2 * WEEK)
      assert.ok(low < 0.7)
      assert.ok(availability(r, T0 + 6 * WEEK) > 0.9)
    })
  })

  describe('good -> warned -> penalised', () => {
    /** Online, with 30 passes over the first day. */
    const healthy = apply(newReputation(T0), [{ type: 'online', at: T0 }, ...every('pass', 30, T0, HOUR)])
    const t1 = T0 + 2 * DAY

    it('a single failure gives a warning, not a penalty', () => {
      const r = updateReputation(healthy, { type: 'fail', at: t1 })
      assert.equal(r.state, 'warned')
      assert.equal(r.stateSince, t1)
      const s = score(r, t1)
      assert.ok(s > 0)
      close(s, WARNED_SCORE_FACTOR * passRate(r, t1) * availability(r, t1))
    })

    it('repeated failures after a warning give a penalty, and score 0', () => {
      const events = every('fail', 1 + PENALTY_STRIKES, t1, DAY)
      const states = events.map((_, i) => apply(healthy, events.slice(0, i + 1)).state)
      assert.deepEqual(states, ['warned', ...Array(PENALTY_STRIKES - 1).fill('warned'), 'penalised'])
      const r = apply(healthy, events)
      assert.equal(score(r, t1 + 3 * DAY), 0)
    })

    it('a burst of failures only warns until the notice has passed', () => {
      const burst = apply(healthy, every('fail', 10, t1, 60_000))
      assert.equal(burst.state, 'warned')
      assert.ok(burst.strikes >= PENALTY_STRIKES)
      assert.equal(updateReputation(burst, { type: 'fail', at: t1 + WARNING_NOTICE_MS - 1 }).state, 'warned')
      assert.equal(updateReputation(burst, { type: 'fail', at: t1 + WARNING_NOTICE_MS }).state, 'penalised')
      // A pass in between does not reset the strikes.
      assert.equal(apply(burst, [{ type: 'pass', at: t1 + DAY }, { type: 'fail', at: t1 + DAY + HOUR }]).state, 'penalised')
    })

    it('a warning clears after CLEAR_PASSES passes in a row at a good pass rate', () => {
      const warned = updateReputation(healthy, { type: 'fail', at: t1 })
      const passes = every('pass', CLEAR_PASSES, t1 + HOUR, HOUR)
      assert.equal(apply(warned, passes.slice(0, -1)).state, 'warned')
      const cleared = apply(warned, passes)
      assert.ok(passRate(cleared, cleared.at) >= CLEAR_PASS_RATE)
      assert.equal(cleared.state, 'good')
      assert.equal(score(cleared, cleared.at), passRate(cleared, cleared.at) * availability(cleared, cleared.at))
      // A failure among them starts the count again.
      const interrupted = apply(warned, [...passes.slice(0, 5), { type: 'fail', at: t1 + 5.5 * HOUR }, ...every('pass', CLEAR_PASSES - 1, t1 + 6 * HOUR, HOUR)])
      assert.equal(interrupted.state, 'warned')
      // A young record (no passes before the failure) needs its rate to recover too.
      const young = apply(newReputation(T0), [{ type: 'fail', at: T0 }, ...every('pass', CLEAR_PASSES, T0 + HOUR, HOUR)])
      assert.ok(passRate(young, young.at) < CLEAR_PASS_RATE)
      assert.equal(young.state, 'warned')
    })

    it('a penalty is lifted by RECOVERY_PASSES passes in a row, back to warned, then good', () => {
      const penalised = apply(healthy, every('fail', 1 + PENALTY_STRIKES, t1, DAY))
      const from = t1 + 10 * DAY
      const recovery = every('pass', RECOVERY_PASSES, from, HOUR)
      assert.equal(apply(penalised, recovery.slice(0, -1)).state, 'penalised')
      const lifted = apply(penalised, recovery)
      assert.equal(lifted.state, 'warned')
      assert.ok(score(lifted, lifted.at) > 0)
      const good = apply(lifted, every('pass', CLEAR_PASSES, from + RECOVERY_PASSES * HOUR, HOUR))
      assert.equal(good.state, 'good')
    })

    it('never penalises without a warning at least WARNING_NOTICE_MS earlier (random histories)', () => {
      const random = seededRandom(5)
      // Hosts that fail 20%, 5% or 1% of their audits; a third of the events are presence changes.
      const failShares = [0.2, 0.05, 0.01]
      const pick = (failShare: number): ReputationEvent['type'] => {
        const x = random.next()
        if (x < 1 / 6) return 'offline'
        if (x < 1 / 3) return 'online'
        return random.next() < failShare ? 'fail' : 'pass'
      }
      const seen = { warned: 0, penalised: 0, recovered: 0 }
      for (let run = 0; run < 200; run++) {
        let r = newReputation(T0)
        let t = T0
        let warnedAt: number | undefined
        for (let i = 0; i < 200; i++) {
          t += Math.floor(random.next() * 12 * HOUR)
          const event = { type: pick(failShares[run % 3]), at: t }
          const next = updateReputation(r, event)
          if (next.state === 'penalised' && r.state !== 'penalised') {
            assert.equal(r.state, 'warned', 'a penalty follows a warning')
            assert.ok(warnedAt !== undefined && t - warnedAt >= WARNING_NOTICE_MS)
            assert.equal(event.type, 'fail')
            seen.penalised++
          }
          if (r.state === 'penalised' && next.state !== 'penalised') seen.recovered++
          if (next.state !== r.state) assert.ok(event.type === 'pass' || event.type === 'fail', 'presence never changes the state')
          if (next.state === 'warned' && r.state !== 'warned') { warnedAt = t; seen.warned++ }
          const s = score(next, t)
          assert.ok(s >= 0 && s <= 1)
          assert.equal(s === 0, next.state === 'penalised')
          r = next
        }
      }
      assert.ok(seen.warned > 0 && seen.penalised > 0 && seen.recovered > 0, JSON.stringify(seen))
    })
  })

  it('takes an event older than the record as happening at the record\'s time', () => {
    const r = updateReputation(newReputation(T0), { type: 'pass', at: T0 + DAY })
    const late = updateReputation(r, { type: 'fail', at: T0 })
    assert.equal(late.at, T0 + DAY)
    close(passRate(late, T0 + DAY), 2 / 3)
  })

  it('refuses bad events and options', () => {
    const r = newReputation(T0)
    throwsNamed(() => updateReputation(r, { type: 'lost', at: T0 } as unknown as ReputationEvent), 'ConfigError')
    throwsNamed(() => updateReputation(r, { type: 'pass', at: Number.NaN }), 'ConfigError')
    throwsNamed(() => updateReputation(r, { type: 'pass', at: T0 }, { halfLifeMs: 0 }), 'ConfigError')
    throwsNamed(() => passRate(r, T0, { halfLifeMs: -1 }), 'ConfigError')
    throwsNamed(() => newReputation(Number.POSITIVE_INFINITY), 'ConfigError')
  })
})
