import assert from 'node:assert/strict'
import { mkdtemp, rm, unlink, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SessionLog } from '../../src/session/session-log.js'
import { emptyCounts, type SessionReport } from '../../src/session/session-report.js'

function report (i: number, set: string): SessionReport {
  const started = new Date(Date.UTC(2026, 11, 5, 10, 0, i)).toISOString()
  return {
    id: SessionLog.newId(), set, trigger: 'schedule', status: 'ok', paths: ['/data'], started, ended: started,
    counts: emptyCounts(), bytesRead: 0, bytesAdded: i, bytesStored: 0, warnings: [], errors: [], warningsTotal: 0, errorsTotal: 0
  } as unknown as SessionReport
}

describe('session log', function () {
  let home: string
  beforeEach(async function () { home = await mkdtemp(join(tmpdir(), 'holdfast-session-log-')) })
  afterEach(async function () { await rm(home, { recursive: true, force: true }) })

  for (const cache of [false, true]) {
    it(`lists newest first, by set and limit, and sees reports added or removed since (cache ${String(cache)})`, async function () {
      const writer = new SessionLog(home)
      const reader = new SessionLog(home, { cache })
      for (let i = 0; i < 5; i++) await writer.append(report(i, i % 2 === 0 ? 'a' : 'b'))
      assert.deepEqual((await reader.list()).map(r => r.bytesAdded), [4, 3, 2, 1, 0])
      assert.deepEqual((await reader.list({ set: 'b' })).map(r => r.bytesAdded), [3, 1])
      assert.deepEqual((await reader.list({ limit: 2 })).map(r => r.bytesAdded), [4, 3])
      await writer.append(report(5, 'b'))
      assert.deepEqual((await reader.list({ limit: 2 })).map(r => r.bytesAdded), [5, 4], 'a report written by another process is seen')
      const [oldest] = (await readdir(writer.dir)).sort()
      await unlink(join(writer.dir, oldest))
      assert.deepEqual((await reader.list()).map(r => r.bytesAdded), [5, 4, 3, 2, 1], 'a report removed is gone')
    })
  }
})
