import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
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

  it('heldFor counts the other restores running into a folder; a killed one\'s plan and its target name are removed by removeStale', async () => {
    const a = await RestorePlan.create(dir, '/t1')
    const b = await RestorePlan.create(dir, '/t1')
    const c = await RestorePlan.create(dir, '/t2')
    // a restore killed while it wrote into /t1: its plan is on disk, held by nobody
    const killed = new Level(join(dir, 'plan-killed000000'))
    await killed.open()
    await killed.close()
    await writeFile(join(dir, 'plan-killed000000.target'), '/t1')
    await writeFile(join(dir, 'plan-orphan000000.target'), '/t1')
    assert.equal(await RestorePlan.heldFor(dir, '/t1', a.path), 1, 'b runs into /t1; the killed one does not count')
    assert.equal(await RestorePlan.heldFor(dir, '/t2', c.path), 0)
    assert.equal(await RestorePlan.heldFor(dir, '/t3', a.path), 0)
    await b.destroy()
    assert.equal(await RestorePlan.heldFor(dir, '/t1', a.path), 0, 'b ended')
    assert.equal(await RestorePlan.removeStale(dir), 1)
    const left = (await readdir(dir)).sort()
    assert.deepEqual(left, [a.path, `${a.path}.target`, c.path, `${c.path}.target`].map(p => p.split('/').pop()!).sort())
    await a.destroy()
    await c.destroy()
    assert.deepEqual(await readdir(dir), [])
  })
})
