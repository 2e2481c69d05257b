/**
 * Commands of several processes on one home with directory stores (no daemon): read-only commands run
 * beside a backup and see every snapshot committed before they started; writers wait for the home's lock
 * (--lock-wait) or exit 11 naming its holder.
 */
import assert from 'node:assert/strict'
import { ChildProcess, spawn } from 'node:child_process'
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { CLI } from '../../scripts/lib/cli-runner.js'
import { compareTrees } from '../../scripts/lib/tree-compare.js'
import { backupJson, expectCode, hf, initRepo, makeTempDir, parseJson, PASSPHRASE, removeDir, snapshotsJson, TestRepo, writeRandom } from './helpers.js'

const MiB = 1024 * 1024

/** A regular expression matching `text` literally. */
const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function exists (path: string): Promise<boolean> {
  try { await stat(path); return true } catch { return false }
}

describe('concurrent commands (integration)', function () {
  let dir: string
  let repo: TestRepo
  let child: ChildProcess | undefined

  before(async function () {
    dir = await makeTempDir('concurrency')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
  })

  afterEach(async function () {
    if (child != null && child.exitCode == null && child.signalCode == null) {
      const c = child
      const gone = new Promise(resolve => c.once('exit', resolve))
      c.kill('SIGKILL')
      await gone
    }
    child = undefined
    await rm(join(repo.home, 'lock'), { force: true })
  })

  after(async function () {
    await removeDir(dir)
  })

  it('snapshots, ls, check and restore run beside a backup; prune exits 11 naming it, or waits for it with --lock-wait', async function () {
    this.timeout(180_000)
    const early = join(dir, 'early')
    await mkdir(early)
    await writeRandom(join(early, 'one.bin'), 700_000)
    await writeFile(join(early, 'note.txt'), 'committed before the slow backup\n')
    const first = await backupJson(repo.home, [early])

    // the slow backup: about 12 MiB of shards at 1 MiB/s
    const big = join(dir, 'big')
    await mkdir(big)
    for (let i = 0; i < 4; i++) await writeRandom(join(big, `part-${i}.bin`), 2 * MiB)
    const stderr: string[] = []
    const proc = spawn(process.execPath, [CLI, 'backup', '--json', '--limit-upload', '1MiB', big], {
      env: { ...process.env, HOLDFAST_HOME: repo.home, HOLDFAST_PASSPHRASE: PASSPHRASE, HOLDFAST_DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    child = proc
    let stdout = ''
    proc.stdout!.on('data', d => { stdout += String(d) })
    proc.stderr!.on('data', d => stderr.push(String(d)))
    const exited = new Promise<number | null>(resolve => proc.on('exit', code => resolve(code)))
    const running = (): boolean => proc.exitCode == null && proc.signalCode == null

    // the backup holds the home's lock (and the register) from its start
    const lock = join(repo.home, 'lock')
    const until = Date.now() + 60_000
    while (!await exists(lock) && running() && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
    assert.ok(running(), `the backup ended before the test could run beside it: ${stderr.join('')}`)
    assert.ok(await exists(lock), 'the backup took no lock')

    // readers see the snapshot committed before, not the one under way
    assert.deepEqual((await snapshotsJson(repo.home)).map(s => s.id), [first.snapshot])
    const ls = await hf(repo.home, ['ls', 'latest'])
    expectCode(ls, 0, 'ls beside the backup')
    assert.ok(ls.stdout.includes(join(early, 'note.txt')), ls.stdout)
    expectCode(await hf(repo.home, ['check']), 0, 'check beside the backup')
    const target = join(dir, 'restore-early')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target]), 0, 'restore beside the backup')
    assert.deepEqual(await compareTrees(early, join(target, early)), [])

    // writers are refused with the holder named; so is an audit (it writes the register)
    const prune = await hf(repo.home, ['prune'])
    expectCode(prune, 11, 'prune beside the backup')
    assert.match(prune.stderr, new RegExp(`the repository is locked by backup, pid ${proc.pid!} on host ${literal(hostname())}, home ${literal(repo.home)}, for \\d+s`))
    const audit = await hf(repo.home, ['audit'])
    expectCode(audit, 11, 'audit beside the backup')
    assert.match(audit.stderr, new RegExp(`register of ${literal(repo.home)} is in use by backup, pid ${proc.pid!}`))
    assert.doesNotMatch(prune.stderr + audit.stderr, /LEVEL_/)
    assert.ok(running(), 'the backup ended before the commands beside it did: they did not run beside it (make it slower)')

    // a prune that may wait starts while the backup runs and completes after it
    assert.ok(running())
    const waiting = hf(repo.home, ['prune', '--json', '--lock-wait', '60s'])
    const firstDone = await Promise.race([waiting.then(() => 'prune'), exited.then(() => 'backup')])
    assert.equal(firstDone, 'backup', 'prune --lock-wait ended before the backup')
    const code = await exited
    assert.equal(code, 0, `backup exited ${String(code)}: ${stderr.join('')}`)
    const pruned = await waiting
    expectCode(pruned, 0, 'prune --lock-wait 60s')
    parseJson<{ dryRun: boolean }>(pruned, 'prune --json')
    const second = parseJson<{ snapshot: string }>({ code: 0, stdout, stderr: stderr.join(''), ms: 0 }, 'backup --json').snapshot

    // both snapshots restore byte-identically after the prune
    assert.deepEqual((await snapshotsJson(repo.home)).map(s => s.id), [first.snapshot, second])
    const bigTarget = join(dir, 'restore-big')
    expectCode(await hf(repo.home, ['restore', second.slice(0, 8), '--target', bigTarget]), 0, 'restore of the slow backup')
    assert.deepEqual(await compareTrees(big, join(bigTarget, big)), [])
    const earlyAgain = join(dir, 'restore-early-again')
    expectCode(await hf(repo.home, ['restore', first.short, '--target', earlyAgain]), 0, 'restore of the first snapshot after prune')
    assert.deepEqual(await compareTrees(early, join(earlyAgain, early)), [])

    // nothing left behind: no lock, no reader's register
    assert.equal(await exists(lock), false, 'the lock was not released')
    assert.deepEqual((await readdir(repo.home)).filter(n => n.startsWith('register-reader-')), [])
  })

  it('a lock of another host is never taken over: --lock-wait gives up with exit 11 naming that host', async function () {
    this.timeout(60_000)
    // a pid that is surely not running here: it must not matter, the holder is on another machine
    await writeFile(join(repo.home, 'lock'), JSON.stringify({ pid: 2 ** 22 + 7, hostname: 'elsewhere.example', home: '/srv/holdfast', what: 'prune', since: new Date(Date.now() - 130_000).toISOString() }))
    const started = Date.now()
    const r = await hf(repo.home, ['forget', '--keep-last', '1', '--lock-wait', '1s'])
    expectCode(r, 11, 'forget beside a lock of another host')
    assert.ok(Date.now() - started >= 1000, 'it did not wait')
    assert.match(r.stderr, /locked by prune, pid 4194311 on host elsewhere\.example, home \/srv\/holdfast, for 2m1\ds \(waited 1s\)/)
    assert.ok(await exists(join(repo.home, 'lock')), 'the other host\'s lock was removed')
  })

  it('a writer with --lock-wait goes on once the holder lets go', async function () {
    this.timeout(60_000)
    const lock = join(repo.home, 'lock')
    // this test process holds the lock, as a running archive would
    await writeFile(lock, JSON.stringify({ pid: process.pid, hostname: hostname(), home: repo.home, what: 'archive', since: new Date().toISOString() }))
    const before = await snapshotsJson(repo.home)
    const started = Date.now()
    const forget = hf(repo.home, ['forget', '--json', '--lock-wait', '30s', before[0].short])
    await new Promise(resolve => setTimeout(resolve, 1500))
    await rm(lock)
    const r = await forget
    expectCode(r, 0, 'forget --lock-wait 30s')
    assert.ok(Date.now() - started >= 1500, 'it did not wait for the lock')
    const removed = parseJson<{ removed: string[] }>(r, 'forget --json').removed
    assert.deepEqual(removed, [before[0].id])
    assert.deepEqual((await snapshotsJson(repo.home)).map(s => s.id), before.slice(1).map(s => s.id))
  })

  it('with the register held by a process that holds no lock, readers still run and a writer exits 11 after a short grace', async function () {
    this.timeout(60_000)
    const before = await snapshotsJson(repo.home)
    // this test process holds the register's LevelDB, as a reader that opened it first would
    const db = new Level(join(repo.home, 'register'))
    await db.open()
    try {
      assert.deepEqual(await snapshotsJson(repo.home), before)
      const started = Date.now()
      const r = await hf(repo.home, ['backup', join(dir, 'early')])
      expectCode(r, 11, 'backup beside a register held elsewhere')
      assert.ok(Date.now() - started >= 5000, 'the writer did not wait for the reader to let go')
      assert.match(r.stderr, new RegExp(`the register of ${literal(repo.home)} is in use by another process`))
      assert.doesNotMatch(r.stderr, /LEVEL_/)
      // the lock it took is released
      assert.equal(await exists(join(repo.home, 'lock')), false)
    } finally {
      await db.close()
    }
    assert.deepEqual(await snapshotsJson(repo.home), before)
  })

  it('--lock-wait must be a duration', async function () {
    const r = await hf(repo.home, ['prune', '--lock-wait', 'soon'])
    expectCode(r, 2, 'prune --lock-wait soon')
    assert.match(r.stderr, /--lock-wait must be a duration/)
    // only commands that take the lock accept it
    expectCode(await hf(repo.home, ['snapshots', '--lock-wait', '5s']), 2, 'snapshots --lock-wait')
  })
})
