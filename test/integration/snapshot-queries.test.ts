/**
 * Questions about snapshots through the CLI: `latest` chosen by --path, --host and --tag (restore, ls,
 * archive), ls showing setuid, setgid and sticky bits, `diff`, `find` and `stats` (their text and --json),
 * over one repository with snapshots of two trees from two hosts.
 */
import assert from 'node:assert/strict'
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { BIN } from '../../scripts/lib/cli-runner.js'
import { expectCode, fileHashes, hf, initRepo, makeTempDir, parseJson, PASSPHRASE, removeDir, TestRepo, writeRandom } from './helpers.js'

/** Runs a bash command line; its exit code is not checked (the line echoes what it needs). */
async function runShell (line: string, env: NodeJS.ProcessEnv): Promise<{ stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile('bash', ['-c', line], { env: { ...process.env, ...env }, timeout: 120_000 }, (_err, stdout, stderr) => resolve({ stdout, stderr }))
  })
}

interface DiffJson { from: string, to: string, changes: Array<{ path: string, change: string, type: string, size?: number }>, summary: { added: { files: number, dirs: number, bytes: number }, removed: { files: number, dirs: number, bytes: number }, modified: number, typeChanged: number, metadata: number } }
interface StatsJson {
  snapshots: Array<{ snapshot: string, files: number, dirs: number, logicalBytes: number, chunks: number, uniqueBytes: number, exclusiveBytes: number, storedBytes: number, dedupRatio: number }>
  repository: { snapshots: number, logicalBytes: number, chunks: number, uniqueBytes: number, compressedBytes: number, storedBytes: number, packs: number, dedupRatio: number }
}

describe('snapshot queries: latest by path, host and tag; ls modes; diff, find, stats (integration)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  let docs: string
  let photos: string
  const ids: Record<string, string> = {}

  const backup = async (label: string, args: string[]): Promise<void> => {
    const r = await hf(repo.home, ['backup', '--json', ...args])
    expectCode(r, 0, `backup ${label}`)
    ids[label] = parseJson<{ snapshot: string }>(r, 'backup').snapshot
  }

  before(async function () {
    dir = await makeTempDir('snapshot-queries')
    repo = await initRepo(dir)
    docs = join(dir, 'docs')
    photos = join(dir, 'photos')
    await mkdir(join(docs, 'old'), { recursive: true })
    await mkdir(photos)
    await writeRandom(join(docs, 'report.pdf'), 200_000)
    await writeRandom(join(docs, 'notes.txt'), 5_000)
    await writeRandom(join(docs, 'old', 'draft.pdf'), 50_000)
    await writeFile(join(docs, 'tool.sh'), '#!/bin/sh\necho hi\n')
    await chmod(join(docs, 'tool.sh'), 0o4755)
    await mkdir(join(docs, 'shared'))
    await chmod(join(docs, 'shared'), 0o1777)
    await writeRandom(join(photos, 'cat.jpg'), 300_000)
    await backup('docs1', ['--tag', 'work', docs])
    await backup('photos1', [photos])
    // the second snapshot of docs: one file changed, one added, one removed, one renamed, a mode changed
    await writeRandom(join(docs, 'notes.txt'), 6_000)
    await writeRandom(join(docs, 'new.pdf'), 70_000)
    await rm(join(docs, 'old', 'draft.pdf'))
    await rename(join(docs, 'report.pdf'), join(docs, 'final-report.pdf'))
    await chmod(join(docs, 'tool.sh'), 0o755)
    await backup('docs2', [docs])
    await backup('photosOther', ['--host', 'other-machine', photos])
  })

  after(async function () {
    await removeDir(dir)
  })

  it('restore latest --path restores the newest snapshot holding that path, not the newest of all', async function () {
    const target = join(dir, 'r1')
    const r = await hf(repo.home, ['restore', 'latest', '--path', docs, '--target', target, '--json'])
    expectCode(r, 0, 'restore latest --path docs')
    assert.equal(parseJson<{ snapshot: string }>(r, 'restore').snapshot, ids.docs2)
    assert.deepEqual(await fileHashes(join(target, docs)), await fileHashes(docs))
    // a path below a backed-up one matches too
    const below = await hf(repo.home, ['restore', 'latest', '--path', join(docs, 'old'), '--target', join(dir, 'r2'), '--json'])
    expectCode(below, 0, 'restore latest --path docs/old')
    assert.equal(parseJson<{ snapshot: string }>(below, 'restore').snapshot, ids.docs2)
  })

  it('latest honours --host and --tag; nothing matching is NoSuchSnapshotError (exit 1) saying what was asked', async function () {
    const other = await hf(repo.home, ['restore', 'latest', '--path', photos, '--host', 'other-machine', '--target', join(dir, 'r3'), '--json'])
    expectCode(other, 0, 'restore latest --host other-machine')
    assert.equal(parseJson<{ snapshot: string }>(other, 'restore').snapshot, ids.photosOther)
    const tagged = await hf(repo.home, ['ls', '--json', '--tag', 'work', 'latest', docs])
    expectCode(tagged, 0, 'ls latest --tag work')
    const paths = parseJson<Array<{ path: string }>>(tagged, 'ls').map(e => e.path)
    assert.ok(paths.includes(join(docs, 'report.pdf')), 'the tagged snapshot is the first of docs')
    assert.ok(!paths.includes(join(docs, 'new.pdf')))
    const none = await hf(repo.home, ['ls', '--host', 'nowhere', 'latest'])
    expectCode(none, 1, 'ls latest --host nowhere')
    assert.match(none.stderr, /no snapshot matches host nowhere/)
    const archived = await hf(repo.home, ['archive', '--json', '--tag', 'work', 'latest'])
    expectCode(archived, 0, 'archive latest --tag work')
    const pinned = parseJson<{ snapshot: string, previous: string }>(archived, 'archive')
    assert.equal(pinned.previous, ids.docs1)
    ids.docs1 = pinned.snapshot // an archived snapshot is a new record
  })

  it('forget with --host, --tag or --path applies its policy to those snapshots only', async function () {
    const other = await hf(repo.home, ['forget', '--dry-run', '--json', '--keep-last', '1', '--host', 'other-machine'])
    expectCode(other, 0, 'forget --host other-machine --dry-run')
    const o = parseJson<{ removed: string[], kept: Array<{ name: string }> }>(other, 'forget')
    assert.deepEqual({ removed: o.removed, kept: o.kept.map(k => k.name) }, { removed: [], kept: [ids.photosOther] })
    const docsOnly = await hf(repo.home, ['forget', '--dry-run', '--json', '--keep-last', '1', '--path', docs])
    const d = parseJson<{ removed: string[], kept: Array<{ name: string }> }>(docsOnly, 'forget')
    assert.deepEqual(d.kept.map(k => k.name).sort(), [ids.docs1, ids.docs2].sort(), 'the archived first snapshot and the last one')
    assert.deepEqual(d.removed, [])
    assert.equal((await hf(repo.home, ['forget', '--dry-run', '--json', '--host', 'nowhere', 'latest'])).code, 1, 'forget latest of a host with none')
  })

  it('ls shows setuid, setgid and sticky bits as ls -l does', async function () {
    const r = await hf(repo.home, ['ls', ids.docs1.slice(0, 8), docs])
    expectCode(r, 0, 'ls docs1')
    assert.match(r.stdout, /-rwsr-xr-x .*\/tool\.sh/)
    assert.match(r.stdout, /drwxrwxrwt .*\/shared/)
    const after = await hf(repo.home, ['ls', ids.docs2.slice(0, 8), docs])
    assert.match(after.stdout, /-rwxr-xr-x .*\/tool\.sh/)
  })

  it('diff names what was added, removed, changed and whose mode changed, with a summary; --json the same', async function () {
    const r = await hf(repo.home, ['diff', '--json', ids.docs1.slice(0, 8), ids.docs2.slice(0, 8)])
    expectCode(r, 0, 'diff --json')
    const d = parseJson<DiffJson>(r, 'diff')
    const by = new Map(d.changes.map(c => [c.path, c.change]))
    assert.equal(by.get(join(docs, 'new.pdf')), '+')
    assert.equal(by.get(join(docs, 'final-report.pdf')), '+')
    assert.equal(by.get(join(docs, 'report.pdf')), '-')
    assert.equal(by.get(join(docs, 'old', 'draft.pdf')), '-')
    assert.equal(by.get(join(docs, 'notes.txt')), 'M')
    assert.equal(by.get(join(docs, 'tool.sh')), 'U')
    assert.equal(by.has(join(docs, 'shared')), false, 'an unchanged directory is not named')
    assert.deepEqual({ added: d.summary.added.files, removed: d.summary.removed.files, modified: d.summary.modified, metadata: d.summary.metadata }, { added: 2, removed: 2, modified: 1, metadata: 1 })
    assert.equal(d.summary.added.bytes, 270_000)
    const text = await hf(repo.home, ['diff', ids.docs1.slice(0, 8), ids.docs2.slice(0, 8)])
    expectCode(text, 0, 'diff')
    assert.match(text.stdout, new RegExp(`^\\+ +${join(docs, 'new.pdf')}$`, 'm'))
    assert.match(text.stdout, /2 files and 0 directories added/)
    const same = await hf(repo.home, ['diff', '--json', ids.docs2.slice(0, 8), ids.docs2.slice(0, 8)])
    assert.deepEqual(parseJson<DiffJson>(same, 'diff').changes, [])
  })

  it('find lists names matching a glob or a part of the name across snapshots, newest first, or in one snapshot', async function () {
    const r = await hf(repo.home, ['find', '--json', '*.PDF'])
    expectCode(r, 0, 'find *.PDF')
    const hits = parseJson<{ hits: Array<{ snapshot: string, path: string }> }>(r, 'find').hits
    const of = (label: string): string[] => hits.filter(h => h.snapshot === ids[label]).map(h => h.path).sort()
    assert.deepEqual(of('docs2'), [join(docs, 'final-report.pdf'), join(docs, 'new.pdf')])
    assert.deepEqual(of('docs1'), [join(docs, 'old', 'draft.pdf'), join(docs, 'report.pdf')])
    assert.equal(hits[0].snapshot, ids.docs2, 'newest first')
    const one = await hf(repo.home, ['find', '--json', '--snapshot', ids.photos1.slice(0, 8), 'cat'])
    assert.deepEqual(parseJson<{ hits: Array<{ path: string }> }>(one, 'find').hits.map(h => h.path), [join(photos, 'cat.jpg')])
    const text = await hf(repo.home, ['find', 'nothing-like-this'])
    expectCode(text, 0, 'find with no hit')
    assert.match(text.stdout, /nothing found/)
  })

  it('stats: files, logical, unique and exclusive bytes per snapshot; dedup across snapshots in the repository figures', async function () {
    const r = await hf(repo.home, ['stats', '--json'])
    expectCode(r, 0, 'stats --json')
    const s = parseJson<StatsJson>(r, 'stats')
    assert.equal(s.snapshots.length, 4)
    const of = (label: string): StatsJson['snapshots'][number] => s.snapshots.find(x => x.snapshot === ids[label])!
    // docs2: final-report.pdf (the old report's chunks), notes.txt, new.pdf, tool.sh
    assert.equal(of('docs2').files, 4)
    assert.equal(of('docs2').logicalBytes, 200_000 + 6_000 + 70_000 + 18)
    // the same photo under two hosts: no byte only one of them holds
    assert.equal(of('photos1').exclusiveBytes, 0)
    assert.equal(of('photosOther').exclusiveBytes, 0)
    assert.equal(of('photos1').uniqueBytes, 300_000)
    // docs1's old notes and draft are its own; the report (renamed) and the script are shared with docs2
    assert.equal(of('docs1').exclusiveBytes, 5_000 + 50_000)
    assert.equal(s.repository.snapshots, 4)
    assert.equal(s.repository.logicalBytes, s.snapshots.reduce((n, x) => n + x.logicalBytes, 0))
    // every chunk once: the report, both notes, the draft, new.pdf, the photo, the script
    assert.equal(s.repository.uniqueBytes, 200_000 + 5_000 + 6_000 + 50_000 + 70_000 + 300_000 + 18)
    assert.ok(s.repository.dedupRatio > 1.5, `dedup ${s.repository.dedupRatio}`)
    assert.ok(s.repository.storedBytes > s.repository.compressedBytes)
    const one = await hf(repo.home, ['stats', ids.docs2.slice(0, 8)])
    expectCode(one, 0, 'stats SNAPSHOT')
    assert.match(one.stdout, /4 files/)
    assert.match(one.stdout, /^repository: 4 snapshots/m)
  })

  it('output piped to a reader that stops early (| head): the command ends with its own exit code, no crash, the backup saved', async function () {
    // as a user types it: the shell's pipe, head closing it after the first bytes
    const piped = async (args: string): Promise<{ status: string, stderr: string }> => {
      const r = await runShell(`"$HF" ${args} | head -c 1 >/dev/null; echo "\${PIPESTATUS[0]}"`, { HF: BIN, HOLDFAST_HOME: repo.home, HOLDFAST_PASSPHRASE: PASSPHRASE })
      return { status: r.stdout.trim(), stderr: r.stderr }
    }
    const before = parseJson<unknown[]>(await hf(repo.home, ['snapshots', '--json']), 'snapshots').length
    // (2>&1: the progress and messages on stderr go to the closed pipe too)
    for (const args of ['ls --json latest', 'find --json "*"', `backup ${photos}`, `backup --json ${docs}`, `backup ${photos} 2>&1`, 'snapshots']) {
      const r = await piped(args)
      assert.equal(r.status, '0', `holdfast ${args} | head -c 1: exit ${r.status}\n${r.stderr}`)
      assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|at .*\.js/, `holdfast ${args}: ${r.stderr}`)
    }
    assert.equal(parseJson<unknown[]>(await hf(repo.home, ['snapshots', '--json']), 'snapshots').length, before + 3, 'the three backups saved their snapshots')
    // a file streamed to the pipe (more than its buffer holds): the dump stops when the reader goes, without
    // a word (exit 130, cancelled), or ends (0) if it was quicker; it never waits for a reader that is gone
    const dumped = await piped(`dump latest ${join(photos, 'cat.jpg')}`)
    assert.ok(dumped.status === '130' || dumped.status === '0', `dump | head -c 1: exit ${dumped.status}\n${dumped.stderr}`)
    assert.equal(dumped.stderr, '')
    expectCode(await hf(repo.home, ['check']), 0, 'the repository after the cut dump')
  })
})
