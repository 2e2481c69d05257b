/** The Backup page's cores: a run's progress from its events, set edits of node.json, the picker's listing, healthchecks pings. */
import assert from 'node:assert/strict'
import { createServer, type IncomingMessage } from 'node:http'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RunProgressTracker } from '../../src/session/run-progress.js'
import { addBackupSet, changeBackupSet, removeBackupSet } from '../../src/config/edit-backup-sets.js'
import { parseNodeConfig } from '../../src/config/parse-node-config.js'
import { listDir } from '../../src/daemon/list-dir.js'
import { pingHealthcheck, pingUrl } from '../../src/session/healthcheck-ping.js'

describe('backup runs: progress, set edits, the picker, pings', () => {
  it('a run\'s progress: queued, scanning, backing up with rate and ETA, uploading, finishing at 100%', () => {
    const t = new RunProgressTracker({ id: 'r1', set: 'docs', trigger: 'manual', started: '2026-12-05T12:00:00Z' })
    assert.equal(t.progress.phase, 'queued')
    t.begin()
    assert.equal(t.apply({ type: 'backup:phase', phase: 'scan' }, 0), false)
    t.apply({ type: 'scan:progress', files: 10, bytes: 1000 }, 10)
    assert.deepEqual([t.progress.phase, t.progress.filesDone, t.progress.filesTotal, t.progress.percent, t.progress.etaSeconds], ['scanning', 10, null, null, null])
    assert.equal(t.apply({ type: 'backup:phase', phase: 'read' }, 100), true)
    t.apply({ type: 'backup:progress', filesDone: 2, filesTotal: 20, bytesDone: 0, bytesTotal: 10_000, bytesStored: 0 }, 1000)
    t.apply({ type: 'backup:progress', filesDone: 10, filesTotal: 20, bytesDone: 5000, bytesTotal: 10_000, bytesStored: 3000 }, 3000)
    const p = t.progress
    assert.equal(p.phase, 'backing up')
    assert.equal(p.percent, 50)
    assert.equal(p.rate, 2500, '5000 bytes in the 2 s since reading began')
    assert.equal(p.etaSeconds, 2)
    assert.equal(p.bytesStored, 3000)
    assert.equal(t.apply({ type: 'backup:progress', filesDone: 20, filesTotal: 20, bytesDone: 10_000, bytesTotal: 10_000, bytesStored: 9000 }, 4000), true)
    assert.equal(t.progress.phase, 'uploading')
    assert.equal(t.progress.etaSeconds, 0)
    t.apply({ type: 'backup:phase', phase: 'commit' }, 5000)
    assert.equal(t.progress.phase, 'finishing')
    t.cancel()
    const end = t.finish(6000)
    assert.equal(end.percent, 100)
    assert.equal(end.cancelling, true)
  })

  it('an empty set reaches 100% once scanned', () => {
    const t = new RunProgressTracker({ id: 'r', set: 's', trigger: 'watch', started: '2026-12-05T12:00:00Z' })
    t.apply({ type: 'backup:phase', phase: 'read' }, 0)
    t.apply({ type: 'backup:progress', filesDone: 0, filesTotal: 0, bytesDone: 0, bytesTotal: 0, bytesStored: 0 }, 1)
    assert.equal(t.progress.percent, 100)
  })

  it('set edits change backup.sets only, keep the rest as written, and are checked as node.json is', () => {
    const raw = { mdns: false, backup: { exclude: ['*.tmp'], sets: [{ name: 'docs', paths: ['/d'], schedule: '0 3 * * *' }] } }
    const added = addBackupSet(raw, { name: 'photos', paths: ['/p'], watch: true })
    assert.deepEqual(added, { mdns: false, backup: { exclude: ['*.tmp'], sets: [{ name: 'docs', paths: ['/d'], schedule: '0 3 * * *' }, { name: 'photos', paths: ['/p'], watch: true }] } })
    assert.deepEqual(raw.backup.sets.length, 1, 'the input is not changed')
    const changed = changeBackupSet(added, 'docs', { schedule: '', exclude: ['cache/'] })
    assert.deepEqual((changed.backup as { sets: unknown[] }).sets[0], { name: 'docs', paths: ['/d'], exclude: ['cache/'] })
    assert.deepEqual((removeBackupSet(changed, 'docs').backup as { sets: unknown[] }).sets, [{ name: 'photos', paths: ['/p'], watch: true }])
    assert.deepEqual(addBackupSet({}, { name: 'a', paths: ['/a'] }), { backup: { sets: [{ name: 'a', paths: ['/a'] }] } })
    assert.throws(() => changeBackupSet(raw, 'nope', {}), { name: 'NotFoundError' })
    assert.throws(() => removeBackupSet(raw, 'nope'), { name: 'NotFoundError' })
    assert.throws(() => changeBackupSet(raw, 'docs', { name: 'other' }), { name: 'UsageError', message: /not renamed/ })
    assert.throws(() => addBackupSet(raw, { name: 'x', paths: ['/x'], colour: 'red' }), { name: 'UsageError', message: /unknown key "colour"/ })
    assert.throws(() => addBackupSet(raw, []), { name: 'UsageError' })
    // the daemon's own check gives the texts the form shows
    assert.throws(() => parseNodeConfig(changeBackupSet(raw, 'docs', { schedule: '61 * * * *' })), { name: 'ConfigError', message: /backup\.sets\[0\]\.schedule: / })
  })

  it('the picker lists a directory: dirs first, symlinks not followed, bounded, errors by name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-listdir-'))
    try {
      await mkdir(join(dir, 'b-dir'))
      await writeFile(join(dir, 'a.txt'), 'x')
      await symlink(join(dir, 'b-dir'), join(dir, 'c-link'))
      const l = await listDir(dir)
      assert.deepEqual(l, { path: dir, entries: [{ name: 'b-dir', type: 'dir' }, { name: 'a.txt', type: 'file' }, { name: 'c-link', type: 'link' }], truncated: false })
      const cut = await listDir(dir, { limit: 2 })
      assert.equal(cut.entries.length, 2)
      assert.equal(cut.truncated, true)
      await assert.rejects(listDir('relative/path'), { name: 'UsageError', message: /must be absolute/ })
      await assert.rejects(listDir(join(dir, 'missing')), { name: 'NotFoundError', message: /no such directory/ })
      await assert.rejects(listDir(join(dir, 'a.txt')), { name: 'UsageError', message: /is not a directory/ })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('pings go to URL/start, URL and URL/fail with the reason; a dead monitor is a PingFailedError', async () => {
    assert.equal(pingUrl('https://hc.example/ping/abc', 'start'), 'https://hc.example/ping/abc/start')
    assert.equal(pingUrl('https://hc.example/ping/abc/', 'fail'), 'https://hc.example/ping/abc/fail')
    assert.equal(pingUrl('https://hc.example/ping/abc', 'success'), 'https://hc.example/ping/abc')
    const seen: string[] = []
    const server = createServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', d => { body += String(d) })
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`)
        res.statusCode = req.url === '/bad' ? 500 : 200
        res.end('OK')
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
    try {
      await pingHealthcheck(`${base}/x`, 'start')
      await pingHealthcheck(`${base}/x`, 'fail', { body: 'failed: disk gone' })
      assert.deepEqual(seen, ['POST /x/start ', 'POST /x/fail failed: disk gone'])
      await assert.rejects(pingHealthcheck(`${base}/bad`, 'success'), { name: 'PingFailedError', message: /answered HTTP 500/ })
    } finally {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
    await assert.rejects(pingHealthcheck(base.replace(/:\d+$/, ':9'), 'start', { timeoutMs: 2000 }), { name: 'PingFailedError' })
  })
})
