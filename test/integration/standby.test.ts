/**
 * The standby copy through the CLI: after each of three backups (additions, changes, deletions, renames,
 * mode changes) `holdfast standby` makes the folder equal to the snapshot, writing only what changed; a
 * standby two snapshots behind catches up in one call; each step is a restore session in the log.
 */
import assert from 'node:assert/strict'
import { chmod, mkdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compareTrees } from '../../scripts/lib/tree-compare.js'
import { RestorePlan } from '../../src/restore/restore-plan.js'
import { startDaemon, type RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, initRepo, makeTempDir, parseJson, PASSPHRASE, removeDir, TestRepo, writeRandom } from './helpers.js'

interface StandbyJson { snapshot: string, previous?: string, upToDate: boolean, removed: number, restored?: { files: number, skipped: number, verified?: number, failed: unknown[] } }

describe('standby copy (integration)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  let src: string
  let standby: string

  const backupAndFollow = async (label: string): Promise<StandbyJson> => {
    expectCode(await hf(repo.home, ['backup', src]), 0, `backup ${label}`)
    const r = await hf(repo.home, ['standby', '--json', '--target', standby])
    expectCode(r, 0, `standby ${label}`)
    assert.deepEqual(await compareTrees(src, join(standby, src)), [], `${label}: the standby equals the source`)
    return parseJson<StandbyJson>(r, 'standby')
  }

  before(async function () {
    dir = await makeTempDir('standby')
    repo = await initRepo(dir)
    src = join(dir, 'src')
    standby = join(dir, 'standby')
    await mkdir(join(src, 'a', 'deep'), { recursive: true })
    for (let i = 0; i < 20; i++) await writeRandom(join(src, 'a', `f${i}.bin`), 20_000)
    await writeRandom(join(src, 'a', 'deep', 'big.bin'), 1_500_000)
    await writeFile(join(src, 'notes.txt'), 'first\n')
    await mkdir(join(src, 'old'))
    await writeRandom(join(src, 'old', 'gone.bin'), 10_000)
  })

  after(async function () {
    await removeDir(dir)
  })

  it('the first call restores the whole snapshot and verifies it', async function () {
    const r = await backupAndFollow('first')
    assert.equal(r.previous, undefined)
    assert.equal(r.restored?.files, 23)
    assert.equal(r.restored?.verified, 23)
  })

  it('the next applies only what changed: additions, a change, a deletion, a rename, a mode change', async function () {
    await writeRandom(join(src, 'a', 'new.bin'), 30_000)
    await writeFile(join(src, 'notes.txt'), 'second, longer\n')
    await rm(join(src, 'old'), { recursive: true })
    await rename(join(src, 'a', 'f0.bin'), join(src, 'a', 'renamed.bin'))
    await chmod(join(src, 'a', 'f1.bin'), 0o600)
    const bigBefore = await stat(join(standby, src, 'a', 'deep', 'big.bin'))
    const r = await backupAndFollow('second')
    // written: new.bin, notes.txt, renamed.bin, f1.bin (mode); the other 19 files are left as they are
    assert.equal(r.restored?.files, 4)
    assert.equal(r.restored?.skipped, 19)
    assert.ok(r.removed >= 4, `removed or refreshed ${r.removed}`)
    const bigAfter = await stat(join(standby, src, 'a', 'deep', 'big.bin'))
    assert.equal(bigAfter.ino, bigBefore.ino, 'an unchanged file is not written again')
    assert.equal((await stat(join(standby, src, 'a', 'f1.bin'))).mode & 0o777, 0o600)
  })

  it('while a restore writes into the standby folder, the standby is refused (exit 11) and removes nothing; then it catches up', async function () {
    await rm(join(src, 'a', 'f3.bin'))
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup with a file deleted')
    // a restore of this home running into the folder, as another process holds it
    const running = await RestorePlan.claim(join(repo.home, 'restore-plans'), await realpath(standby))
    try {
      const refused = await hf(repo.home, ['standby', '--json', '--target', standby])
      expectCode(refused, 11, 'standby while a restore writes there')
      assert.match(refused.stderr, /another restore is writing into/)
      assert.ok((await stat(join(standby, src, 'a', 'f3.bin'))).isFile(), 'the file the standby would remove is still there')
    } finally {
      await running.destroy()
    }
    const r = await hf(repo.home, ['standby', '--json', '--target', standby])
    expectCode(r, 0, 'standby once the restore ended')
    assert.deepEqual(await compareTrees(src, join(standby, src)), [])
  })

  it('up to date: nothing to do; two snapshots behind: one call catches up; each step is a restore session', async function () {
    const same = await hf(repo.home, ['standby', '--json', '--target', standby])
    assert.equal(parseJson<StandbyJson>(same, 'standby').upToDate, true)
    await writeRandom(join(src, 'a', 'third.bin'), 5_000)
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup three')
    await rm(join(src, 'a', 'f2.bin'))
    await mkdir(join(src, 'fresh'))
    await writeFile(join(src, 'fresh', 'x.txt'), 'x')
    const r = await backupAndFollow('four, the standby two behind')
    assert.equal(r.restored?.failed.length, 0)
    const sessions = parseJson<Array<{ kind?: string, status: string, target?: string }>>(await hf(repo.home, ['sessions', '--json']), 'sessions')
    assert.equal(sessions.filter(s => s.kind === 'restore' && s.target === standby && s.status === 'ok').length, 4, 'four steps (the one refused while a restore wrote there is not one), four restore sessions')
  })

  it('a standby folder that is the root or lies inside what is backed up is refused (exit 2), and nothing is touched', async function () {
    for (const target of ['/', join(src, 'mirror')]) {
      const r = await hf(repo.home, ['standby', '--target', target])
      expectCode(r, 2, `standby --target ${target}`)
      assert.match(r.stderr, /choose a folder of its own/)
    }
    assert.deepEqual(await compareTrees(src, join(standby, src)), [], 'the source and the standby are as they were')
  })

  it('a symlink put into the standby where a directory was is never followed when removing', async function () {
    const outside = join(dir, 'outside')
    await mkdir(outside)
    await writeFile(join(outside, 'precious.txt'), 'keep me')
    // the standby's copy of src/fresh becomes a symlink to a folder outside it; the source drops fresh/x.txt
    await rm(join(standby, src, 'fresh'), { recursive: true })
    const { symlink } = await import('node:fs/promises')
    await symlink(outside, join(standby, src, 'fresh'))
    await rm(join(src, 'fresh', 'x.txt'))
    await writeFile(join(outside, 'x.txt'), 'also outside')
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup five')
    const r = await hf(repo.home, ['standby', '--target', standby])
    expectCode(r, 3, 'standby with a symlink on the way: that path is reported, the rest applied')
    assert.match(r.stderr, /fresh/)
    assert.equal(await (await import('node:fs/promises')).readFile(join(outside, 'x.txt'), 'utf8'), 'also outside', 'nothing outside the standby is removed')
    assert.equal(await (await import('node:fs/promises')).readFile(join(outside, 'precious.txt'), 'utf8'), 'keep me')
  })
})

describe('standby copy kept by the daemon (integration)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  let src: string
  let standby: string
  let daemon: RunningDaemon | undefined

  const until = async (what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> => {
    const deadline = Date.now() + ms
    while (!await check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise(resolve => setTimeout(resolve, 250))
    }
  }
  const equal = async (): Promise<boolean> => (await compareTrees(src, join(standby, src)).catch(() => ['missing'])).length === 0
  const nodeJson = async (schedule: string): Promise<void> => {
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({
      listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, maintenance: { enabled: false },
      backup: { sets: [{ name: 'docs', paths: [src], standby, ...(schedule !== '' ? { schedule } : {}) }] }
    }))
  }

  before(async function () {
    dir = await makeTempDir('standby-daemon')
    repo = await initRepo(dir)
    src = join(dir, 'src')
    standby = join(dir, 'standby')
    await mkdir(src)
    for (let i = 0; i < 5; i++) await writeRandom(join(src, `f${i}.bin`), 10_000)
  })

  after(async function () {
    await daemon?.stop()
    await removeDir(dir)
  })

  it('after each scheduled session the standby equals the snapshot; a standby left behind while the daemon was off catches up at start', async function () {
    await nodeJson('*/2 * * * * *')
    daemon = await startDaemon(repo.home, { HOLDFAST_PASSPHRASE: PASSPHRASE })
    await until('the standby to follow the first session', equal)
    await daemon.stop()
    daemon = undefined
    // the daemon is off: a backup by hand; the standby is now a snapshot behind
    await writeRandom(join(src, 'added.bin'), 7_000)
    await rm(join(src, 'f0.bin'))
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup while the daemon is off')
    assert.equal(await equal(), false)
    await nodeJson('')
    daemon = await startDaemon(repo.home, { HOLDFAST_PASSPHRASE: PASSPHRASE })
    await until('the standby to catch up at start', equal)
    const sessions = parseJson<Array<{ kind?: string, target?: string, status: string }>>(await hf(repo.home, ['sessions', '--json']), 'sessions')
    assert.ok(sessions.filter(s => s.kind === 'restore' && s.target === standby && s.status === 'ok').length >= 2)
  })
})
