/** The home's lock file: created whole (never empty or torn), released, taken over from the dead. */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { acquireLock, homePaths } from '../../src/home/home.js'
import { parseLockHolder } from '../../src/util/lock-holder.js'

describe('home/acquireLock', () => {
  let home: string
  beforeEach(async () => { home = await mkdtemp(join(tmpdir(), 'holdfast-lock-')) })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  it('the lock file holds a whole record; a second taker is refused naming the holder; release frees it', async () => {
    const release = await acquireLock(home, 'prune')
    const holder = parseLockHolder(await readFile(homePaths(home).lock, 'utf8'))
    assert.equal(holder?.pid, process.pid)
    assert.equal(holder?.what, 'prune')
    assert.deepEqual((await readdir(home)).filter(n => n.endsWith('.tmp')), [], 'no temporary file left')
    await assert.rejects(acquireLock(home, 'backup'), (err: Error) => err.name === 'LockedError' && /locked by prune, pid \d+/.test(err.message))
    await release()
    await (await acquireLock(home, 'backup'))()
  })

  it("a lock and a temporary file left by a process that died are taken over and removed", async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    const lock = homePaths(home).lock
    await writeFile(lock, JSON.stringify({ pid: dead, what: 'prune', since: new Date().toISOString() }))
    const leftover = join(home, `${lock.split('/').pop()!}.${dead}.0123abcd.tmp`)
    await writeFile(leftover, 'half')
    const release = await acquireLock(home, 'repair')
    assert.equal(parseLockHolder(await readFile(lock, 'utf8'))?.what, 'repair')
    await assert.rejects(readFile(leftover), /ENOENT/)
    await release()
  })
})
