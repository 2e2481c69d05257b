/** The daemon's BackupControl with a stubbed scheduler and sessions: throttled progress, cancel, pings, edits refused while a session runs. */
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { BackupControl, PROGRESS_INTERVAL_MS } from '../../src/daemon/backup-control.js'
import type { BackupScheduler, ScheduledRun } from '../../src/schedule/index.js'
import type { BackupSetConfig } from '../../src/config/node-config.js'
import type { SessionReport } from '../../src/session/session-report.js'
import type { RunEvent } from '../../src/web/backup-schemas.js'
import { emptyCounts } from '../../src/session/index.js'
import { PassphraseNeededError } from '../../src/errors.js'

const set = (over: Partial<BackupSetConfig> = {}): BackupSetConfig => ({ name: 'docs', paths: ['/d'], exclude: [], schedule: '', watch: false, minAgeSeconds: 60, rescanSeconds: 3600, ping: '', ...over })

function report (id: string, status: SessionReport['status'], reason?: string): SessionReport {
  const now = new Date().toISOString()
  return { id, set: 'docs', trigger: 'manual', status, ...(reason != null ? { reason } : {}), paths: ['/d'], started: now, ended: now, counts: emptyCounts(), bytesRead: 0, bytesAdded: 0, bytesStored: 0, warnings: [], errors: [], warningsTotal: 0, errorsTotal: 0 }
}

describe('daemon/backup-control', () => {
  let home: string
  beforeEach(async () => { home = await mkdtemp(join(tmpdir(), 'holdfast-control-')) })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  it('progress goes out at each change of phase and at most every 250 ms otherwise, then one end event with the report', async () => {
    const control = new BackupControl({ home, scheduler: () => undefined, sets: () => [set()], checkAccess: async () => {}, applySets: async () => {} })
    const events: RunEvent[] = []
    control.subscribe(e => events.push(e))
    const done = control.session(set(), { trigger: 'schedule' }, new AbortController().signal, async ({ id, onProgress }) => {
      onProgress({ type: 'backup:phase', phase: 'scan' })
      onProgress({ type: 'backup:phase', phase: 'read' })
      for (let i = 1; i <= 50; i++) {
        onProgress({ type: 'backup:progress', filesDone: i, filesTotal: 100, bytesDone: i * 10, bytesTotal: 1000, bytesStored: 0 })
        await sleep(10)
      }
      return report(id, 'ok')
    })
    assert.equal(control.runs().length, 1)
    const t0 = Date.now()
    const r = await done
    const elapsed = Date.now() - t0
    const progress = events.filter(e => e.type === 'run:progress')
    // 50 events over 500 ms or more: the start and the change of phase at once, the rest one per 250 ms at most
    assert.ok(progress.length >= 3 && progress.length <= 3 + Math.ceil(elapsed / PROGRESS_INTERVAL_MS), `${progress.length} progress events in ${elapsed} ms`)
    const end = events.at(-1)!
    assert.equal(end.type, 'run:end')
    assert.deepEqual(end.type === 'run:end' ? end.session : undefined, { id: r.id, status: 'ok' })
    assert.deepEqual(control.runs(), [])
    await sleep(PROGRESS_INTERVAL_MS + 50)
    assert.equal(events.at(-1), end, 'no progress after the end (the trailing timer is cleared)')
    await control.stop()
  })

  it('cancel aborts the session\'s signal with the reason; an unknown run is NotFoundError', async () => {
    const control = new BackupControl({ home, scheduler: () => undefined, sets: () => [set()], checkAccess: async () => {}, applySets: async () => {} })
    let seen: unknown
    const done = control.session(set(), { trigger: 'manual', id: 'run1' }, new AbortController().signal, async ({ id, signal }) => {
      await new Promise(resolve => signal.addEventListener('abort', resolve))
      seen = signal.reason
      return report(id, 'failed', 'cancelled (asked from the dashboard)')
    })
    await sleep(10)
    assert.equal(control.cancel('run1').cancelling, true)
    assert.equal((await done).status, 'failed')
    assert.equal((seen as Error).name, 'AbortedError')
    assert.throws(() => control.cancel('run1'), { name: 'NotFoundError' })
    await control.stop()
  })

  it('backupNow: 404 for an unknown set, the access checked first, the run listed at once as queued', async () => {
    let release: (r: SessionReport) => void = () => {}
    const runNow = (_name: string, options: { id?: string }): { done: Promise<SessionReport> } => ({ done: new Promise(resolve => { release = r => resolve({ ...r, id: options.id! }) }) })
    let locked = true
    const control = new BackupControl({
      home,
      scheduler: () => ({ runNow, runningSets: () => [] }) as unknown as BackupScheduler,
      sets: () => [set()],
      checkAccess: async () => { if (locked) throw new PassphraseNeededError('locked') },
      applySets: async () => {}
    })
    await assert.rejects(control.backupNow('nope'), { name: 'NotFoundError' })
    await assert.rejects(control.backupNow('docs'), { name: 'PassphraseNeededError' })
    locked = false
    const { id } = await control.backupNow('docs')
    assert.deepEqual(control.runs().map(r => [r.id, r.phase, r.trigger]), [[id, 'queued', 'manual']])
    release(report('x', 'skipped', 'the daemon is stopping'))
    await sleep(10)
    assert.deepEqual(control.runs(), [], 'a run that never started is gone once it is over')
    await control.stop()
  })

  it('pings start, then success or fail with the reason; a dead monitor is logged and fails nothing', async () => {
    const seen: string[] = []
    const server = createServer((req, res) => { let b = ''; req.on('data', d => { b += String(d) }); req.on('end', () => { seen.push(`${req.url ?? ''} ${b}`.trim()); res.end() }) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hc`
    const errors: string[] = []
    const control = new BackupControl({ home, scheduler: () => undefined, sets: () => [], checkAccess: async () => {}, applySets: async () => {}, onError: (err, where) => errors.push(`${where}: ${(err as Error).name}`) })
    try {
      // the sessions wait for no ping: the second may start while the first's end ping is on its way
      await control.session(set({ ping: `${url}/a` }), { trigger: 'schedule' }, new AbortController().signal, async ({ id }) => report(id, 'ok'))
      await control.session(set({ ping: `${url}/b` }), { trigger: 'schedule' }, new AbortController().signal, async ({ id }) => report(id, 'failed', 'PlacementError: too few peers'))
      await control.session(set({ ping: 'http://127.0.0.1:9/dead' }), { trigger: 'watch' }, new AbortController().signal, async ({ id }) => report(id, 'ok'))
      await control.stop() // waits for the pings on their way
      assert.deepEqual(seen.filter(p => p.startsWith('/hc/a')), ['/hc/a/start', '/hc/a'])
      assert.deepEqual(seen.filter(p => p.startsWith('/hc/b')), ['/hc/b/start', '/hc/b/fail PlacementError: too few peers'])
      assert.deepEqual(errors, ['ping of set docs: PingFailedError', 'ping of set docs: PingFailedError'])
    } finally {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  })

  it('set edits write node.json and apply it; refused while a session runs, node.json untouched', async () => {
    await writeFile(join(home, 'node.json'), JSON.stringify({ mdns: false, backup: { sets: [{ name: 'docs', paths: ['/d'] }] } }))
    const applied: string[][] = []
    const control = new BackupControl({ home, scheduler: () => undefined, sets: () => [], checkAccess: async () => {}, applySets: async c => { applied.push(c.backup.sets.map(s => s.name)) } })
    assert.deepEqual(await control.addSet({ name: 'pics', paths: ['/p'], schedule: '0 4 * * *' }), { ...set({ name: 'pics', paths: ['/p'], schedule: '0 4 * * *' }) })
    assert.deepEqual(applied, [['docs', 'pics']])
    let finish: () => void = () => {}
    const running = control.session(set(), { trigger: 'watch' } as ScheduledRun, new AbortController().signal, async ({ id }) => { await new Promise<void>(resolve => { finish = resolve }); return report(id, 'ok') })
    await sleep(10)
    const before = await readFile(join(home, 'node.json'), 'utf8')
    await assert.rejects(control.removeSet('pics'), { name: 'BusyError', message: /a session of set docs is under way/ })
    assert.equal(await readFile(join(home, 'node.json'), 'utf8'), before)
    finish()
    await running
    await control.removeSet('pics')
    assert.deepEqual(JSON.parse(await readFile(join(home, 'node.json'), 'utf8')), { mdns: false, backup: { sets: [{ name: 'docs', paths: ['/d'] }] } })
    await assert.rejects(control.changeSet('docs', { schedule: 'every day' }), { name: 'ConfigError', message: /backup\.sets\[0\]\.schedule: / })
    await control.stop()
  })
})
