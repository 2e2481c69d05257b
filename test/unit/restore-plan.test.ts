import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { RestorePlan } from '../../src/restore/restore-plan.js'

describe('restore/RestorePlan.removeStale', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'holdfast-plans-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('removes a plan no one holds, never one a restore holds open, and a folder it cannot open only once a day old', async () => {
    const running = await RestorePlan.create(dir)
    const left = new Level(join(dir, 'plan-left0000000'))
    await left.open()
    await left.close()
    await mkdir(join(dir, 'plan-broken00000'))
    assert.equal(await RestorePlan.removeStale(dir), 1)
    assert.deepEqual((await readdir(dir)).sort(), [running.path.split('/').pop()!, 'plan-broken00000'].sort())
    const old = new Date(Date.now() - 2 * 24 * 3600_000)
    await utimes(join(dir, 'plan-broken00000'), old, old)
    assert.equal(await RestorePlan.removeStale(dir), 1)
    assert.deepEqual(await readdir(dir), [running.path.split('/').pop()!])
    await running.destroy()
    assert.deepEqual(await readdir(dir), [])
  })
})
