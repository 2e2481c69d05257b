import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { BackupSetConfig } from '../../src/config/node-config.js'
import { HookFailedError, PlacementError, StoreUnavailableError, WrongPassphraseError } from '../../src/errors.js'
import {
  BackupScheduler, isPeerShortage, MAX_MISSED_COUNTED, MAX_RETRY_DELAY_MS, missedRuns, parseCron, planRetry, retryDelayMs, ScheduledRun
} from '../../src/schedule/index.js'
import { emptyCounts, SessionLog, SessionReport } from '../../src/session/index.js'

/** Local wall-clock dates, as the schedules compute them. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0): Date => new Date(y, mo - 1, d, h, mi, s)
const DAY = 86400 * 1000

describe('schedule/missed-runs', () => {
  it('none when the next occurrence is after now', () => {
    assert.equal(missedRuns(parseCron('0 2 * * *'), at(2026, 3, 1, 2), at(2026, 3, 2, 1, 59)), undefined)
  })

  it('an occurrence at the last one handled is not missed; one at now is', () => {
    const cron = parseCron('0 2 * * *')
    assert.equal(missedRuns(cron, at(2026, 3, 1, 2), at(2026, 3, 1, 2)), undefined)
    assert.deepEqual(missedRuns(cron, at(2026, 3, 1, 2), at(2026, 3, 2, 2)), { first: at(2026, 3, 2, 2), last: at(2026, 3, 2, 2), count: 1 })
  })

  it('several missed: the latest stands for them all, with how many there were', () => {
    // daily at 02:00; the machine was off from the 1st 03:00 until the 5th 10:00: the 2nd to the 5th were missed
    assert.deepEqual(missedRuns(parseCron('0 2 * * *'), at(2026, 3, 1, 3), at(2026, 3, 5, 10)),
      { first: at(2026, 3, 2, 2), last: at(2026, 3, 5, 2), count: 4 })
    // yearly, 5 years off
    assert.deepEqual(missedRuns(parseCron('@yearly'), at(2020, 6, 1), at(2025, 6, 1)), { first: at(2021, 1, 1), last: at(2025, 1, 1), count: 5 })
  })

  it('a per-second schedule after a week off: the latest occurrence exactly, the count capped, quickly', () => {
    const started = Date.now()
    const r = missedRuns(parseCron('* * * * * *'), at(2026, 3, 1), at(2026, 3, 8, 12))
    assert.ok(Date.now() - started < 500, `${Date.now() - started} ms`)
    assert.deepEqual(r, { first: at(2026, 3, 1, 0, 0, 1), last: at(2026, 3, 8, 12), count: MAX_MISSED_COUNTED })
  })

  it('an irregular schedule: the latest occurrence before now, not the latest of a regular step', () => {
    // every second of 02:00-02:00:59 on weekdays; at Sat 10:00 the latest is Fri 02:00:59
    const r = missedRuns(parseCron('* 0 2 * * mon-fri'), at(2026, 3, 2), at(2026, 3, 7, 10))!
    assert.deepEqual(r.first, at(2026, 3, 2, 2, 0, 0))
    assert.deepEqual(r.last, at(2026, 3, 6, 2, 0, 59))
    assert.equal(r.count, 5 * 60)
  })
})

describe('schedule/retry-plan', () => {
  it('backoff: 1, 2, 4, 8 ... times the base, capped at an hour', () => {
    const min = 60_000
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(a => retryDelayMs(a, min)), [1, 2, 4, 8, 16, 32, 60, 60].map(m => m * min))
    assert.equal(retryDelayMs(10_000, min), MAX_RETRY_DELAY_MS)
    assert.equal(retryDelayMs(3, 1000, 5000), 4000)
    assert.throws(() => retryDelayMs(0, min), RangeError)
  })

  it('no retry at or after the next scheduled run, none with a zero base', () => {
    const now = at(2026, 3, 1, 2, 30)
    assert.deepEqual(planRetry({ attempt: 1, now, nextRun: at(2026, 3, 2, 2), baseMs: 60_000 }), at(2026, 3, 1, 2, 31))
    assert.deepEqual(planRetry({ attempt: 5, now, nextRun: at(2026, 3, 2, 2), baseMs: 60_000 }), at(2026, 3, 1, 2, 46))
    // hourly schedule: the 7th retry (32 min) would come after 03:00, the next run
    assert.deepEqual(planRetry({ attempt: 6, now, nextRun: at(2026, 3, 1, 3), baseMs: 60_000 }), undefined)
    assert.deepEqual(planRetry({ attempt: 1, now, nextRun: at(2026, 3, 1, 2, 31), baseMs: 60_000 }), undefined)
    assert.equal(planRetry({ attempt: 1, now, nextRun: at(2026, 3, 2), baseMs: 0 }), undefined)
  })

  it('only a shortage of stores is retried: not a wrong passphrase, nor a pre-hook that aborts', () => {
    assert.equal(isPeerShortage(new PlacementError('only 2 available')), true)
    assert.equal(isPeerShortage(new StoreUnavailableError('no store can be reached')), true)
    assert.equal(isPeerShortage(Object.assign(new Error('x'), { name: 'PeerUnreachableError' })), true)
    assert.equal(isPeerShortage(new Error('wrapped', { cause: new PlacementError('x') })), true)
    assert.equal(isPeerShortage(new WrongPassphraseError('wrong')), false)
    assert.equal(isPeerShortage(new HookFailedError('pre hook exited with code 1')), false)
    assert.equal(isPeerShortage(undefined), false)
  })
})

describe('schedule/backup-scheduler: catch-up and retries (simulated clock)', function () {
  this.timeout(20_000)
  let home: string
  let offset: number
  let runs: ScheduledRun[]
  /** Errors the next runs fail with (undefined: succeeds). */
  let failures: Array<Error | undefined>
  let scheduler: BackupScheduler | undefined
  /** What run.retryAt said after each failure. */
  const nextRetries: Array<Date | undefined> = []
  const now = (): number => Date.now() + offset

  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'holdfast-sched-'))
    offset = 0
    runs = []
    failures = []
    nextRetries.length = 0
  })
  afterEach(async () => {
    await scheduler?.stop()
    scheduler = undefined
    await rm(home, { recursive: true, force: true })
  })

  const set = (schedule: string, name = 'docs'): BackupSetConfig => ({ name, paths: [home], exclude: [], schedule, watch: false, minAgeSeconds: 60, rescanSeconds: 3600, ping: '' })
  const report = (s: BackupSetConfig, run: ScheduledRun, status: SessionReport['status']): SessionReport => {
    const t = new Date().toISOString()
    return { id: SessionLog.newId(), set: s.name, trigger: run.trigger, status, paths: s.paths, started: t, ended: t, counts: emptyCounts(), bytesRead: 0, bytesAdded: 0, bytesStored: 0, warnings: [], errors: [], warningsTotal: 0, errorsTotal: 0 }
  }
    const makeScheduler = (sets: BackupSetConfig[], options: { retryBaseMs?: number } = {}): BackupScheduler => new BackupScheduler({
    home,
    sets,
    now,
    tickMs: 20,
    retryBaseMs: options.retryBaseMs ?? 50,
    run: async (s, run) => {
      runs.push(run)
      const err = failures.shift()
      if (err == null) return report(s, run, 'ok')
      // as runSession does: asked before the report is kept
      nextRetries.push(run.retryAt?.(err))
      return report(s, run, 'failed')
    }
  })
  const writeState = async (sets: Record<string, Date>): Promise<void> => {
    await writeFile(join(home, 'schedule.json'), JSON.stringify({ version: 1, sets: Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, { last: v.toISOString() }])) }))
  }
  const stateOf = async (name: string): Promise<string | undefined> => JSON.parse(await readFile(join(home, 'schedule.json'), 'utf8')).sets[name]?.last

  it('a run missed while off runs once at start, as a catch-up of the latest; a restart does not repeat it', async () => {
    await writeState({ docs: at(2020, 6, 1) })
    scheduler = makeScheduler([set('@yearly')])
    await scheduler.start()
    await sleep(200)
    const thisYear = new Date().getFullYear()
    assert.equal(runs.length, 1)
    assert.equal(runs[0].trigger, 'catch-up')
    assert.deepEqual(runs[0].due, at(thisYear, 1, 1))
    assert.equal(runs[0].note, `catch-up of the run due at ${at(thisYear, 1, 1).toISOString()}; ${thisYear - 2020} runs missed since ${at(2021, 1, 1).toISOString()}, run once`)
    await scheduler.stop()
    assert.equal(await stateOf('docs'), at(thisYear, 1, 1).toISOString())
    scheduler = makeScheduler([set('@yearly')])
    await scheduler.start()
    await sleep(200)
    assert.equal(runs.length, 1, 'no second catch-up after a restart')
  })

  it('a set without history does not catch up, and counts from when it was first seen', async () => {
    const before = Date.now()
    scheduler = makeScheduler([set('@yearly', 'fresh')])
    await scheduler.start()
    await sleep(200)
    assert.equal(runs.length, 0)
    await scheduler.stop()
    const seen = Date.parse((await stateOf('fresh'))!)
    assert.ok(seen >= before && seen <= Date.now(), 'first seen recorded')
  })

  it('the history of a set comes from the session log when the state file does not know it', async () => {
    const log = new SessionLog(home)
    const t = at(2022, 1, 1).toISOString()
    await log.append({ ...report(set('@yearly'), { trigger: 'schedule' }, 'ok'), started: t, ended: t, due: t })
    // a later manual session does not count as a scheduled run
    const m = new Date(Date.now() - DAY).toISOString()
    await log.append({ ...report(set('@yearly'), { trigger: 'manual' }, 'ok'), started: m, ended: m })
    scheduler = makeScheduler([set('@yearly')])
    await scheduler.start()
    await sleep(200)
    assert.equal(runs.length, 1)
    assert.equal(runs[0].trigger, 'catch-up')
    assert.match(runs[0].note ?? '', new RegExp(`since ${at(2023, 1, 1).toISOString()}`))
  })

  it('after a sleep (the wall clock jumps ahead of the timers), the missed runs run once, as a catch-up', async () => {
    // every hour; the simulated time is 10:30, the last run handled was at 10:00
    offset = at(2026, 3, 1, 10, 30).getTime() - Date.now()
    await writeState({ docs: at(2026, 3, 1, 10) })
    scheduler = makeScheduler([set('@hourly')])
    await scheduler.start()
    await sleep(100)
    assert.equal(runs.length, 0, 'nothing due yet')
    offset += 5 * 3600 * 1000 // the machine slept 5 hours
    await sleep(200)
    assert.equal(runs.length, 1)
    assert.equal(runs[0].trigger, 'catch-up')
    assert.deepEqual(runs[0].due, at(2026, 3, 1, 15))
    assert.equal(runs[0].note, `catch-up of the run due at ${at(2026, 3, 1, 15).toISOString()}; 5 runs missed since ${at(2026, 3, 1, 11).toISOString()}, run once`)
  })

  it('a scheduled run that found too few stores is retried with backoff until it succeeds; each retry says which', async () => {
    await writeState({ docs: at(2020, 6, 1) })
    failures = [new PlacementError('only 2 available'), new StoreUnavailableError('no store can be reached'), new PlacementError('x'), undefined]
    scheduler = makeScheduler([set('@yearly')], { retryBaseMs: 40 })
    await scheduler.start()
    const started = Date.now()
    while (runs.length < 4 && Date.now() - started < 5000) await sleep(10)
    await sleep(300)
    assert.deepEqual(runs.map(r => r.trigger), ['catch-up', 'retry', 'retry', 'retry'])
    assert.deepEqual(runs.map(r => r.attempt), [undefined, 1, 2, 3])
    const due = runs[0].due!
    for (const r of runs) assert.deepEqual(r.due, due)
    assert.equal(runs[2].note, `retry 2 of the run due at ${due.toISOString()}`)
    assert.equal(nextRetries.length, 3)
    // the waits double: 40, 80, 160 ms
    assert.ok(nextRetries.every(d => d != null))
    assert.ok(Date.now() - started >= 40 + 80 + 160 - 20)
  })

  it('another failure (a wrong passphrase) is not retried', async () => {
    await writeState({ docs: at(2020, 6, 1) })
    failures = [new WrongPassphraseError('wrong')]
    scheduler = makeScheduler([set('@yearly')], { retryBaseMs: 20 })
    await scheduler.start()
    await sleep(300)
    assert.equal(runs.length, 1)
    assert.deepEqual(nextRetries, [undefined])
  })

  it('no retry at or after the next scheduled run', async () => {
    // hourly; simulated time 10:59:30, a 60 s base: the retry would come after 11:00, when the next run is due
    offset = at(2026, 3, 1, 10, 59, 30).getTime() - Date.now()
    await writeState({ docs: at(2026, 3, 1, 9) })
    failures = [new PlacementError('x')]
    scheduler = makeScheduler([set('@hourly')], { retryBaseMs: 60_000 })
    await scheduler.start()
    await sleep(200)
    assert.equal(runs.length, 1)
    assert.deepEqual(runs[0].due, at(2026, 3, 1, 10))
    assert.deepEqual(nextRetries, [undefined])
  })
})
