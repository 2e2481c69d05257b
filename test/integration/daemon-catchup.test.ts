/**
 * Scheduled runs in a real daemon process over directory stores, when things go wrong: a run missed while
 * the daemon was off runs once when it starts (a catch-up), and a run that fails because a store is away
 * (a host down, a disk unplugged) is retried with backoff until the store is back.
 */
import assert from 'node:assert/strict'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { SessionLog, type SessionReport } from '../../src/session/index.js'
import { RunningDaemon, startDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, initRepo, makeTempDir, PASSPHRASE, removeDir, snapshotsJson, TestRepo } from './helpers.js'

/** The session log, oldest first (read in-process: cheaper than a CLI per poll). */
async function sessions (home: string, set?: string): Promise<SessionReport[]> {
  return (await new SessionLog(home).list({ set })).reverse()
}

async function waitFor<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v != null) return v
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Yearly, on January 1st at 00:00 local time: its latest occurrence is always in the past, its next far off. */
const YEARLY = '0 0 1 1 *'
const LONG_AGO = new Date(2020, 5, 1)

describe('daemon scheduled runs: catch-up and retries (integration)', function () {
  this.timeout(60_000)
  let dir: string
  let repo: TestRepo
  let src: string
  let daemon: RunningDaemon | undefined
  const thisYear = new Date().getFullYear()
  const due = new Date(thisYear, 0, 1).toISOString()

  beforeEach(async function () {
    dir = await makeTempDir('catchup')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    src = join(dir, 'src')
    await mkdir(src)
    await writeFile(join(src, 'file'), 'scheduled content')
  })

  afterEach(async function () {
    await daemon?.stop()
    daemon = undefined
    await removeDir(dir)
  })

  /** Writes node.json (and the scheduler's state: set -> the latest occurrence it handled), then starts the daemon. */
  async function start (backup: object, state: Record<string, Date> = {}): Promise<void> {
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, maintenance: { enabled: false }, backup }))
    if (Object.keys(state).length > 0) {
      await writeFile(join(repo.home, 'schedule.json'), JSON.stringify({ version: 1, sets: Object.fromEntries(Object.entries(state).map(([k, v]) => [k, { last: v.toISOString() }])) }))
    }
    daemon = await startDaemon(repo.home, { HOLDFAST_PASSPHRASE: PASSPHRASE })
  }

  it('a run missed while the daemon was off runs once at start, as a catch-up; not again after a restart; a new set does not catch up', async function () {
    const backup = { sets: [{ name: 'docs', paths: [src], schedule: YEARLY }, { name: 'fresh', paths: [src], schedule: YEARLY }] }
    await start(backup, { docs: LONG_AGO })
    const [s] = await waitFor('the catch-up session', 20_000, async () => {
      const all = await sessions(repo.home, 'docs')
      return all.some(r => r.status !== 'skipped') ? all : undefined
    })
    await sleep(1000) // room for a wrong second session
    const docs = await sessions(repo.home, 'docs')
    assert.equal(docs.length, 1, JSON.stringify(docs))
    assert.equal(s.status, 'ok', s.reason)
    assert.equal(s.trigger, 'catch-up')
    assert.equal(s.due, due)
    assert.equal(s.note, `catch-up of the run due at ${due}; ${thisYear - 2020} runs missed since ${new Date(2021, 0, 1).toISOString()}, run once`)
    assert.ok(s.snapshot != null)
    assert.deepEqual(await sessions(repo.home, 'fresh'), [], 'a set without history starts at its next occurrence')
    const text = await hf(repo.home, ['sessions'])
    expectCode(text, 0, 'sessions')
    assert.match(text.stdout, new RegExp(`${s.id} .* catch-up .* docs .* ok .*\\(catch-up of the run due at ${due.replace(/\./g, '\\.')}`))

    // the occurrence handled is kept: a restart does not run it again
    await daemon!.stop()
    daemon = undefined
    const state = JSON.parse(await readFile(join(repo.home, 'schedule.json'), 'utf8'))
    assert.equal(state.sets.docs.last, due)
    assert.ok(Date.parse(state.sets.fresh.last) > Date.parse(due), 'the new set is recorded as seen from now on')
    await start(backup)
    await sleep(1500)
    assert.equal((await sessions(repo.home)).length, 1)
  })

  it('a run that fails because a store is away is retried with backoff, each retry its own session, until it succeeds', async function () {
    // k=2, m=1 over 3 stores: every pack needs all three; the third one's disk is away
    const away = `${repo.stores[2]}-away`
    await rename(repo.stores[2], away)
    await start({ retryBaseSeconds: 1, sets: [{ name: 'docs', paths: [src], schedule: YEARLY }] }, { docs: LONG_AGO })
    // the catch-up and the first retry fail; then the store comes back
    const failed = await waitFor('the catch-up and retry 1 failing', 20_000, async () => {
      const all = await sessions(repo.home, 'docs')
      return all.some(r => r.trigger === 'retry' && r.status === 'failed') ? all : undefined
    })
    await rename(away, repo.stores[2])
    const all = await waitFor('a retry that succeeds', 20_000, async () => {
      const all = await sessions(repo.home, 'docs')
      return all.some(r => r.status === 'ok') ? all : undefined
    })
    assert.equal(failed[0].trigger, 'catch-up')
    assert.equal(failed[0].status, 'failed')
    assert.match(failed[0].reason ?? '', /^(PlacementError|StoreUnavailableError): /)
    // each failure says when the next retry is, and the retries come 1, 2, 4 ... s apart
    const retries = all.slice(1)
    assert.ok(retries.length >= 2, JSON.stringify(all))
    retries.forEach((r, i) => {
      assert.equal(r.trigger, 'retry')
      assert.equal(r.attempt, i + 1)
      assert.equal(r.due, due)
      assert.equal(r.note, `retry ${i + 1} of the run due at ${due}`)
      const before = all[i]
      assert.ok(before.nextRetry != null, `session ${i} says when the next retry is`)
      assert.ok(Date.parse(r.started) >= Date.parse(before.nextRetry) - 50, `retry ${i + 1} started ${r.started}, planned ${before.nextRetry}`)
      const wait = Date.parse(before.nextRetry) - Date.parse(before.ended)
      assert.ok(wait > 2 ** i * 1000 - 300 && wait <= 2 ** i * 1000 + 50, `wait before retry ${i + 1}: ${wait} ms`)
    })
    const ok = retries[retries.length - 1]
    assert.equal(ok.status, 'ok')
    assert.equal(ok.nextRetry, undefined)
    assert.ok(ok.snapshot != null)
    for (const r of all.slice(0, -1)) assert.equal(r.status, 'failed')
    await sleep(2500) // no retry after the success
    assert.equal((await sessions(repo.home)).length, all.length)
    const text = await hf(repo.home, ['sessions'])
    expectCode(text, 0, 'sessions')
    assert.match(text.stdout, / retry .* docs .* failed .*\(retry 1 of the run due at .*\) {2}next retry at /)
    assert.equal((await snapshotsJson(repo.home)).length, 1)
  })

  it('a run that fails otherwise (a pre-hook that aborts) is not retried', async function () {
    await start({ retryBaseSeconds: 1, hooks: { pre: 'exit 3' }, sets: [{ name: 'docs', paths: [src], schedule: YEARLY }] }, { docs: LONG_AGO })
    const [s] = await waitFor('the failed catch-up', 20_000, async () => {
      const all = await sessions(repo.home, 'docs')
      return all.length > 0 ? all : undefined
    })
    assert.equal(s.trigger, 'catch-up')
    assert.equal(s.status, 'failed')
    assert.match(s.reason ?? '', /pre hook exited with code 3/)
    assert.equal(s.nextRetry, undefined)
    await sleep(2500)
    assert.equal((await sessions(repo.home)).length, 1)
  })
})
