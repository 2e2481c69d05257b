/**
 * Locks with the repository (records on the stores), through the CLI with directory stores:
 * - two homes of one repository: a prune in the second home while the first backs up is refused, exit 11,
 *   naming the holder (what, process, host, home);
 * - a lock left by a process that died on this machine is taken over at once;
 * - a lock this process released but a store that was away kept does not block its next lock;
 * - a lock of another machine is taken over only once it is stale (locks.staleSeconds);
 * - holdfast unlock lists the locks and removes the stale ones.
 */
import assert from 'node:assert/strict'
import { cp, mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { Repository } from '../../src/repository/repository.js'
import type { LockRecord } from '../../src/format/format.js'
import { listLocks, lockRepository } from '../../src/repository/repository-lock.js'
import { countShards, expectCode, hf, initRepo, makeTempDir, PASSPHRASE, removeDir, TestRepo, writeRandom } from './helpers.js'

async function plantLock (home: string, lock: Partial<LockRecord>): Promise<string> {
  const repo = await Repository.open(home, PASSPHRASE)
  try {
    const record: LockRecord = { v: 1, kind: 'exclusive', what: 'prune', hostname: hostname(), home, pid: process.pid, created: new Date().toISOString(), refreshed: new Date().toISOString(), ...lock }
    return (await repo.putRecordEverywhere('lock', record)).name
  } finally {
    await repo.close()
  }
}

describe('locks on the stores (integration)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  let src: string

  before(async function () {
    dir = await makeTempDir('locks')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1, packSize: '64KiB' })
    src = join(dir, 'src')
    await mkdir(src)
    for (let i = 0; i < 6; i++) await writeRandom(join(src, `f${i}.bin`), 400_000)
    expectCode(await hf(repo.home, ['backup', src]), 0, 'first backup')
  })

  after(async function () {
    await removeDir(dir)
  })

  it('a second home of the repository cannot prune while the first backs up: exit 11 naming the holder', async function () {
    // the second home: a copy of the first (what a recovery makes while the old machine still runs)
    const second = join(dir, 'home2')
    await cp(repo.home, second, { recursive: true })
    await writeRandom(join(src, 'more.bin'), 3_000_000)
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/src/cli/main.js'), 'backup', '--limit-upload', '1MiB', src], {
      env: { ...process.env, HOLDFAST_HOME: repo.home, HOLDFAST_PASSPHRASE: PASSPHRASE },
      stdio: 'ignore'
    })
    const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
    try {
      // wait until the backup is storing (its shared lock is on the stores by then)
      const base = await countShards(repo.stores)
      const until = Date.now() + 30_000
      while (await countShards(repo.stores) === base && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 100))
      const r = await hf(second, ['prune'])
      expectCode(r, 11, 'prune in the second home')
      assert.match(r.stderr, new RegExp(`locked by backup \\(shared\\), process ${child.pid!} on host ${hostname()}, home ${repo.home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, for \\d+`))
    } finally {
      const code = await exited
      assert.equal(code, 0, 'the backup completes')
    }
    // once the backup is done, the second home's prune runs
    expectCode(await hf(second, ['prune']), 0, 'prune after the backup')
    expectCode(await hf(repo.home, ['check', '--read-data']), 0, 'check')
  })

  it('a lock left by a process that died on this machine is taken over at once', async function () {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!
    await plantLock(repo.home, { pid: dead, what: 'prune' })
    expectCode(await hf(repo.home, ['prune']), 0, 'prune takes over the dead lock')
    const u = await hf(repo.home, ['unlock', '--json'])
    expectCode(u, 0, 'unlock')
    assert.deepEqual(JSON.parse(u.stdout), [], 'no lock left on the stores')
  })

  it('a lock this process released, left on a store that was away, does not block its next lock', async function () {
    const opened = await Repository.open(repo.home, PASSPHRASE)
    try {
      const first = await lockRepository(opened, 'shared', 'backup')
      // the third store goes away before the release: its copy of the lock record stays
      const away = `${repo.stores[2]}.away`
      await rename(repo.stores[2], away)
      await first.release()
      await rename(away, repo.stores[2])
      const left = await listLocks(opened)
      assert.deepEqual(left.map(f => f.name), [first.name], 'the released lock is still on the store that was away')
      // this process knows it released it: an exclusive lock is taken at once (no 30-minute wait)
      const second = await lockRepository(opened, 'exclusive', 'prune')
      await second.release()
      assert.deepEqual(await listLocks(opened), [], 'no lock left')
    } finally {
      await opened.close()
    }
  })

  it("another machine's lock is refused until it is stale, then taken over", async function () {
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({ locks: { staleSeconds: 4, refreshSeconds: 1 } }))
    await plantLock(repo.home, { hostname: 'elsewhere.example', pid: 4242, what: 'repair' })
    const r = await hf(repo.home, ['prune'])
    expectCode(r, 11, 'prune beside a fresh foreign lock')
    assert.match(r.stderr, /locked by repair \(exclusive\), process 4242 on host elsewhere\.example/)
    const listed = await hf(repo.home, ['unlock', '--json'])
    assert.equal(JSON.parse(listed.stdout)[0].removed, false, 'a fresh lock is not removed by unlock')
    await new Promise(resolve => setTimeout(resolve, 4500))
    expectCode(await hf(repo.home, ['prune']), 0, 'prune once the lock is stale')
  })
})
