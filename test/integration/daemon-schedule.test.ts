/**
 * The daemon's backup sets, in a real daemon process over directory stores: a schedule fires, an
 * overlapping run is skipped with its reason, watch mode backs up a change once it has settled, and the
 * retention policy runs after scheduled sessions.
 */
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { SessionReport } from '../../src/session/index.js'
import { RunningDaemon, startDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, initRepo, makeTempDir, parseJson, PASSPHRASE, removeDir, snapshotsJson, TestRepo } from './helpers.js'

async function sessions (home: string): Promise<SessionReport[]> {
  const r = await hf(home, ['sessions', '--json', '--limit', '1000'])
  expectCode(r, 0, 'sessions')
  return parseJson<SessionReport[]>(r, 'sessions --json')
}

async function waitFor<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v != null) return v
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

describe('daemon backup sets (integration)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  let daemon: RunningDaemon | undefined

  beforeEach(async function () {
    dir = await makeTempDir('schedule')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
  })

  afterEach(async function () {
    await daemon?.stop()
    daemon = undefined
    await removeDir(dir)
  })

  async function start (backup: object, extra: object = {}): Promise<void> {
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, maintenance: { enabled: false }, backup, ...extra }))
    daemon = await startDaemon(repo.home, { HOLDFAST_PASSPHRASE: PASSPHRASE })
  }

  it('a schedule fires on time, an overlapping run is skipped with its reason, and retention keeps the last 2', async function () {
    const src = join(dir, 'src')
    await mkdir(src)
    await writeFile(join(src, 'file'), 'scheduled content')
    // every 2 s; the pre-hook makes each run last about 3 s, so the next fire finds it under way
    await start({ hooks: { pre: 'sleep 3' }, sets: [{ name: 'docs', paths: [src], schedule: '*/2 * * * * *' }] }, { retention: { last: 2 } })
    const log = await waitFor('two finished sessions and a skipped one', 60_000, async () => {
      const all = await sessions(repo.home)
      return all.filter(s => s.status === 'ok').length >= 3 && all.some(s => s.status === 'skipped') ? all : undefined
    })
    const ok = log.filter(s => s.status === 'ok')
    for (const s of ok) {
      assert.equal(s.set, 'docs')
      assert.equal(s.trigger, 'schedule')
      assert.ok(s.snapshot != null)
      // fired on an even second (the pre-hook runs first, within the same second)
      assert.equal(new Date(s.started).getSeconds() % 2, 0, `started ${s.started}`)
    }
    const skipped = log.find(s => s.status === 'skipped')!
    assert.match(skipped.reason ?? '', /previous schedule run of set docs \(started .*\) is still under way/)
    assert.equal(skipped.snapshot, undefined)
    // retention after each scheduled session: the last 2 stay (a session that just ended may still be
    // applying it: wait for a moment between sessions)
    await waitFor('retention down to the last 2', 30_000, async () => (await snapshotsJson(repo.home)).length === 2 ? true : undefined)
    await daemon!.stop()
    daemon = undefined
    assert.ok((await snapshotsJson(repo.home)).length <= 3)
  })

  it('watch mode backs up a modified file once it stayed unchanged for minAgeSeconds, coalescing a burst', async function () {
    const src = join(dir, 'watched')
    await mkdir(join(src, 'sub'), { recursive: true })
    await writeFile(join(src, 'sub', 'doc.txt'), 'version 1')
    await writeFile(join(src, 'other.txt'), 'untouched')
    await start({ sets: [{ name: 'live', paths: [src], watch: true, minAgeSeconds: 2, rescanSeconds: 3600 }] })
    await sleep(500) // the watcher is set up when the daemon is ready; give the first events room
    // a burst of changes, 300 ms apart
    for (let i = 2; i <= 5; i++) { await writeFile(join(src, 'sub', 'doc.txt'), `version ${i}`); await sleep(300) }
    const lastChange = Date.now()
    const done = await waitFor('a watch session that backed the file up', 30_000, async () => {
      const all = (await sessions(repo.home)).filter(s => s.trigger === 'watch' && s.status === 'ok')
      return all.find(s => s.deferred == null && Date.parse(s.started) >= lastChange)
    })
    // the session read the file only once it was 2 s old (written 300 ms before lastChange): it ended after
    // that, whenever the scheduler fired it (under load a session fired early may start reading late)
    assert.ok(Date.parse(done.ended) >= lastChange + 1500, `ended ${Date.parse(done.ended) - lastChange} ms after the last change; the minimum age is 2 s`)
    await sleep(2500)
    const watchSessions = (await sessions(repo.home)).filter(s => s.trigger === 'watch')
    assert.ok(watchSessions.length <= 2, `the burst of 4 changes made ${watchSessions.length} sessions`)
    // a session that was over before the file was 2 s old left it for the next one
    for (const s of watchSessions.filter(s => Date.parse(s.ended) < lastChange + 1500)) assert.equal(s.deferred, 1, JSON.stringify(s))
    const target = join(dir, 'restored')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target]), 0, 'restore')
    const { readFile } = await import('node:fs/promises')
    assert.equal(await readFile(join(target, src, 'sub', 'doc.txt'), 'utf8'), 'version 5')
    assert.equal(await readFile(join(target, src, 'other.txt'), 'utf8'), 'untouched')
  })

  it('a file written to without pause keeps its previous version in watch sessions, and is left for later', async function () {
    const src = join(dir, 'busy')
    await mkdir(src)
    const log = join(src, 'busy.log')
    await writeFile(log, 'first version\n')
    await writeFile(join(src, 'calm.txt'), 'calm')
    await start({ sets: [{ name: 'busy', paths: [src], watch: true, minAgeSeconds: 1, rescanSeconds: 3600 }] })
    expectCode(await hf(repo.home, ['backup', '--set', 'busy']), 0, 'a first, manual session (no minimum age)')
    const { appendFile, readFile } = await import('node:fs/promises')
    const until = Date.now() + 4500
    while (Date.now() < until) { await appendFile(log, 'more\n'); await sleep(100) }
    const watchSessions = (await sessions(repo.home)).filter(s => s.trigger === 'watch' && s.status === 'ok')
    assert.ok(watchSessions.length >= 1, 'watch sessions ran meanwhile')
    for (const s of watchSessions) assert.equal(s.deferred, 1, JSON.stringify(s))
    // the last watch session's snapshot (once the writes stop, a later session may take the calm file whole)
    const made = watchSessions[watchSessions.length - 1].snapshot
    assert.ok(made != null, 'the watch session made a snapshot')
    const snaps = JSON.parse((await hf(repo.home, ['snapshots', '--json'])).stdout) as Array<{ id: string, summary: { totalFiles: number, totalBytes: number } }>
    const last = snaps.find(s => s.id === made)!
    assert.ok(last != null, `snapshot ${made} is listed`)
    const target = join(dir, 'restored-busy')
    expectCode(await hf(repo.home, ['restore', last.id, '--target', target]), 0, 'restore')
    assert.equal(await readFile(join(target, log), 'utf8'), 'first version\n', 'the previous version stayed in the snapshot')
    assert.equal(await readFile(join(target, src, 'calm.txt'), 'utf8'), 'calm')
    // the totals count what the snapshot holds: the previous version of the busy file
    assert.deepEqual(last.summary.totalFiles, 2)
    assert.equal(last.summary.totalBytes, 'first version\n'.length + 'calm'.length)
  })

  it('without a passphrase for unattended sessions, the session fails with a reason saying how to give one', async function () {
    const src = join(dir, 'src')
    await mkdir(src)
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, backup: { sets: [{ name: 'x', paths: [src], schedule: '* * * * * *' }] } }))
    daemon = await startDaemon(repo.home, { HOLDFAST_PASSPHRASE: '' })
    const [failed] = await waitFor('a failed session', 20_000, async () => {
      const all = (await sessions(repo.home)).filter(s => s.status === 'failed')
      return all.length > 0 ? all : undefined
    })
    assert.match(failed.reason ?? '', /backup\.passphraseFile/)
  })
})
