import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { RestorePlan, restoreScope, scopesMeet } from '../../src/restore/restore-plan.js'

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

  it('heldFor names the other restores running where this one writes; a killed one\'s plan and its target name are removed by removeStale', async () => {
    const a = await RestorePlan.create(dir, '/t1')
    const b = await RestorePlan.create(dir, '/t1/home/ann')
    const c = await RestorePlan.create(dir, '/t2')
    // a restore killed while it wrote into /t1: its plan is on disk, held by nobody
    const killed = new Level(join(dir, 'plan-killed000000'))
    await killed.open()
    await killed.close()
    await writeFile(join(dir, 'plan-killed000000.target'), '/t1')
    await writeFile(join(dir, 'plan-orphan000000.target'), '/t1')
    assert.deepEqual(await RestorePlan.heldFor(dir, '/t1', a.path), ['/t1/home/ann'], 'b writes inside /t1; the killed one does not count')
    assert.equal((await RestorePlan.heldFor(dir, '/t1/home/ann/docs', 'none')).sort().join(), '/t1,/t1/home/ann', 'a folder inside both meets both')
    assert.deepEqual(await RestorePlan.heldFor(dir, '/t1/home/bob', a.path), [], 'beside b, and a is its own')
    assert.deepEqual(await RestorePlan.heldFor(dir, '/t2', c.path), [])
    assert.deepEqual(await RestorePlan.heldFor(dir, '/t3', a.path), [])
    await assert.rejects(RestorePlan.claim(dir, '/t2/x'), (err: Error) => err.name === 'LockedError' && /another restore is writing into \/t2:/.test(err.message))
    await b.destroy()
    assert.deepEqual(await RestorePlan.heldFor(dir, '/t1', a.path), [], 'b ended')
    assert.equal(await RestorePlan.removeStale(dir), 0, 'the claim removed the killed restore\'s plan and the orphan name first')
    const left = (await readdir(dir)).sort()
    assert.deepEqual(left, [a.path, `${a.path}.target`, c.path, `${c.path}.target`].map(p => p.split('/').pop()!).sort(), 'the refused claim left nothing')
    await a.destroy()
    await c.destroy()
    assert.deepEqual(await readdir(dir), [])
  })

  it('a restore\'s scope is the folder that holds its part; scopes meet when one is the other or inside it', () => {
    assert.equal(restoreScope('/r'), '/r')
    assert.equal(restoreScope('/r', '/'), '/r')
    assert.equal(restoreScope('/r', '/home/ann/docs'), '/r/home/ann')
    assert.equal(restoreScope('/', '/home/ann/file.txt'), '/home/ann')
    assert.ok(scopesMeet('/r', '/r'))
    assert.ok(scopesMeet('/r', '/r/x') && scopesMeet('/r/x', '/r'))
    assert.ok(scopesMeet('/', '/home'))
    assert.ok(!scopesMeet('/r/x', '/r/y'))
    assert.ok(!scopesMeet('/r/ab', '/r/a'), 'a prefix of the name is not a parent')
  })
})
