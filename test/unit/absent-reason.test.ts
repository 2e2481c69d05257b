import assert from 'node:assert/strict'
import { absentReason } from '../../src/maintenance/repository-health.js'

const HOUR = 3600_000
const DAY = 24 * HOUR
const now = Date.UTC(2026, 0, 10)
const graces = { graceMs: 3 * DAY, urgentGraceMs: DAY }

describe('maintenance/absentReason: why an absent host\'s shard is regenerated, in words', () => {
  it('names the rule that applies: no store, the grace, the urgent grace, or an absence far longer than usual', () => {
    assert.equal(absentReason(undefined, now, graces), 'its store is no longer configured')
    // past the grace, though its rhythm is known: the grace is the reason
    assert.equal(absentReason({ online: false, offlineSince: now - 3.5 * DAY, usualAbsenceMs: 10 * HOUR, watchedAbsenceMs: 3 * DAY }, now, graces),
      'its host has been offline 3.5 days, past the grace of 3.0 days')
    assert.equal(absentReason({ online: false, offlineSince: now - 30 * HOUR }, now, graces),
      'its host has been offline 30.0 h, past the urgent grace of 24.0 h (the pack\'s margin is gone)')
    assert.equal(absentReason({ online: false, offlineSince: now - 4 * HOUR, usualAbsenceMs: 20 * 60_000, watchedAbsenceMs: 3.2 * HOUR }, now, graces),
      'its host has been away 3.2 h while this node watched, usually at most 20 min')
  })
})
