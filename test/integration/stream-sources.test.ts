/**
 * Data sources beyond files, through the CLI: standard input (`backup --stdin`), a command's output
 * (`--stdin-from-command`, whose exit status decides: a failing dump never becomes a snapshot), and
 * `dump` to standard output or to a file, written whole or not at all.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expectCode, hf, initRepo, makeTempDir, parseJson, removeDir, snapshotsJson, TestRepo } from './helpers.js'

describe('stream sources: backup --stdin, --stdin-from-command, dump (integration)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  const data = randomBytes(3_000_000)
  let firstSnapshot = ''
  const ids = (): string => firstSnapshot.slice(0, 8)

  before(async function () {
    dir = await makeTempDir('stream-sources')
    repo = await initRepo(dir)
  })

  after(async function () {
    await removeDir(dir)
  })

  it('--stdin stores the stream as /NAME; dump gives it back byte for byte; the same stream again adds nothing', async function () {
    const r = await hf(repo.home, ['backup', '--json', '--stdin', '--stdin-name', 'db.dump'], {}, data)
    expectCode(r, 0, 'backup --stdin')
    const first = parseJson<{ snapshot: string, totalFiles: number, totalBytes: number, bytesAdded: number }>(r, 'backup')
    assert.deepEqual({ files: first.totalFiles, bytes: first.totalBytes }, { files: 1, bytes: data.length })
    firstSnapshot = first.snapshot
    const snaps = await snapshotsJson(repo.home)
    assert.deepEqual(snaps.find(s => s.id === first.snapshot)?.paths, ['/db.dump'])
    const dumped = await hf(repo.home, ['dump', 'latest', '/db.dump'])
    expectCode(dumped, 0, 'dump to stdout')
    assert.ok(dumped.bytes?.equals(data), 'dump gives the bytes backed up')
    const again = await hf(repo.home, ['backup', '--json', '--stdin', '--stdin-name', 'db.dump'], {}, data)
    expectCode(again, 0, 'backup --stdin again')
    assert.equal(parseJson<{ bytesAdded: number }>(again, 'backup').bytesAdded, 0, 'deduplicated against the first')
    // restore to a file: the stream comes back as TARGET/NAME
    const target = join(dir, 'restored')
    expectCode(await hf(repo.home, ['restore', 'latest', '--path', '/db.dump', '--target', target]), 0, 'restore the stream')
    assert.ok((await readFile(join(target, 'db.dump'))).equals(data))
  })

  it('--stdin-from-command stores the output of a command that succeeds; its standard error is shown', async function () {
    const r = await hf(repo.home, ['backup', '--json', '--stdin-from-command', '--stdin-name', 'numbers.txt', '--', 'sh', '-c', 'seq 1 50000; echo dumped >&2'])
    expectCode(r, 0, 'backup --stdin-from-command')
    assert.match(r.stderr, /sh: dumped/)
    const out = await hf(repo.home, ['dump', 'latest', '/numbers.txt'])
    expectCode(out, 0, 'dump')
    assert.equal(out.stdout, Array.from({ length: 50000 }, (_, i) => `${i + 1}\n`).join(''))
  })

  it('a command that exits non-zero, is killed or cannot start fails the backup (exit 1) and writes no snapshot; the session says why', async function () {
    const before = (await snapshotsJson(repo.home)).length
    const failing = await hf(repo.home, ['backup', '--stdin-from-command', '--stdin-name', 'bad.dump', '--', 'sh', '-c', 'echo half a dump; echo "pg_dump: connection refused" >&2; exit 3'])
    expectCode(failing, 1, 'a failing command')
    assert.match(failing.stderr, /exited with status 3 \(pg_dump: connection refused\); no snapshot was written/)
    const killed = await hf(repo.home, ['backup', '--stdin-from-command', '--', 'sh', '-c', 'echo some; kill -9 $$'])
    expectCode(killed, 1, 'a killed command')
    assert.match(killed.stderr, /was killed by SIGKILL/)
    const missing = await hf(repo.home, ['backup', '--stdin-from-command', '--', join(dir, 'no-such-command')])
    expectCode(missing, 1, 'a command that cannot start')
    assert.match(missing.stderr, /could not be started/)
    assert.equal((await snapshotsJson(repo.home)).length, before, 'no snapshot from a failed source')
    const sessions = await hf(repo.home, ['sessions', '--json'])
    const reports = parseJson<Array<{ status: string, reason?: string }>>(sessions, 'sessions')
    assert.ok(reports.some(s => s.status === 'failed' && /SourceCommandFailedError: .*exited with status 3/.test(s.reason ?? '')), JSON.stringify(reports.slice(0, 3)))
  })

  it('dump --output writes the file whole under its name (no temporary left); a directory, a missing path or no matching snapshot is refused', async function () {
    const file = join(dir, 'out', 'copy.dump')
    await import('node:fs/promises').then(async fs => await fs.mkdir(join(dir, 'out')))
    expectCode(await hf(repo.home, ['dump', '--output', file, 'latest', '/db.dump']), 0, 'dump --output')
    assert.ok((await readFile(file)).equals(data))
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    assert.deepEqual(await readdir(join(dir, 'out')), ['copy.dump'])
    const folder = await hf(repo.home, ['dump', ids(), '/'])
    expectCode(folder, 2, 'dump of a directory')
    assert.match(folder.stderr, /is not a file in the snapshot/)
    const untagged = await hf(repo.home, ['dump', '--tag', 'none', 'latest', '/db.dump'])
    expectCode(untagged, 1, 'dump latest of a tag no snapshot has')
    const missing = await hf(repo.home, ['dump', 'latest', '/nothing-here'])
    assert.notEqual(missing.code, 0)
    assert.match(missing.stderr, /not in the snapshot|no snapshot matches/)
  })

  it('a set of node.json whose source is a command: backup --set runs it, stores /NAME, and fails without a snapshot when it fails', async function () {
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({
      backup: {
        sets: [
          { name: 'numbers', command: ['sh', '-c', 'seq 1 1000'] },
          { name: 'broken', command: ['sh', '-c', 'echo part; exit 7'] }
        ]
      }
    }))
    try {
      const ok = await hf(repo.home, ['backup', '--json', '--set', 'numbers'])
      expectCode(ok, 0, 'backup --set numbers')
      const snapshot = parseJson<{ snapshot: string }>(ok, 'backup').snapshot
      assert.deepEqual((await snapshotsJson(repo.home)).find(s => s.id === snapshot)?.paths, ['/numbers'])
      assert.equal((await hf(repo.home, ['dump', snapshot.slice(0, 8), '/numbers'])).stdout, Array.from({ length: 1000 }, (_, i) => `${i + 1}\n`).join(''))
      const before = (await snapshotsJson(repo.home)).length
      const broken = await hf(repo.home, ['backup', '--set', 'broken'])
      expectCode(broken, 1, 'backup --set broken')
      assert.match(broken.stderr, /exited with status 7/)
      assert.equal((await snapshotsJson(repo.home)).length, before)
    } finally {
      await rm(join(repo.home, 'node.json'), { force: true })
    }
  })

  it('usage errors: --stdin with paths, both sources at once, a name with a slash, --stdin-from-command without a command', async function () {
    for (const [args, pattern] of [
      [['backup', '--stdin', join(dir, 'x')], /give no paths/],
      [['backup', '--stdin', '--stdin-from-command', '--', 'true'], /not both/],
      [['backup', '--stdin', '--stdin-name', 'a/b'], /without '\/'/],
      [['backup', '--stdin-from-command'], /needs the command/],
      [['backup', '--stdin-name', 'x', join(dir, 'x')], /goes with --stdin/]
    ] as Array<[string[], RegExp]>) {
      const r = await hf(repo.home, args, {}, Buffer.alloc(0))
      expectCode(r, 2, args.join(' '))
      assert.match(r.stderr, pattern)
    }
  })
})
