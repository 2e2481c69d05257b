/**
 * A restore never escapes its target: a symlink or file already in the target is never followed;
 * existing entries follow --overwrite; --verify reads back what was written.
 */
import assert from 'node:assert/strict'
import { lstat, mkdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Repository } from '../../src/repository/repository.js'
import { verifyRestored } from '../../src/restore/verify.js'
import type { Tree } from '../../src/format/format.js'
import { allPaths, expectCode, hf, initRepo, makeTempDir, parseJson, PASSPHRASE, removeDir, TestRepo } from './helpers.js'

describe('restore into a target that already holds things (integration)', function () {
  this.timeout(60_000)
  let dir: string
  let repo: TestRepo
  let src: string
  let outside: string

  before(async function () {
    dir = await makeTempDir('restore-target')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    src = join(dir, 'src')
    await mkdir(join(src, 'docs'), { recursive: true })
    await writeFile(join(src, 'docs', 'letter.txt'), 'the restored letter\n')
    await writeFile(join(src, 'top.txt'), 'top level file\n')
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup')
    outside = join(dir, 'outside')
    await mkdir(outside)
    await writeFile(join(outside, 'precious.txt'), 'not to be touched\n')
  })

  after(async function () {
    await removeDir(dir)
  })

  const outsideNow = async (): Promise<string[]> => await allPaths(outside)

  it('a symlink planted where the snapshot has a directory receives nothing; exit 3 names it', async function () {
    const target = join(dir, 't1')
    await mkdir(join(target, src), { recursive: true })
    await symlink(outside, join(target, src, 'docs'))
    const was = await outsideNow()
    const r = await hf(repo.home, ['restore', 'latest', '--target', target])
    expectCode(r, 3, 'restore with a planted symlink')
    assert.match(r.stderr, /is a symlink where the snapshot has a directory: not followed/)
    assert.deepEqual(await outsideNow(), was, 'nothing written outside the target')
    assert.equal(await readFile(join(outside, 'precious.txt'), 'utf8'), 'not to be touched\n')
    assert.equal(await readlink(join(target, src, 'docs')), outside, 'the link is left as it was')
    assert.equal(await readFile(join(target, src, 'top.txt'), 'utf8'), 'top level file\n', 'the rest is restored')
  })

  it('with --overwrite always the planted link itself is replaced by the directory; what it pointed to is untouched', async function () {
    const target = join(dir, 't2')
    await mkdir(join(target, src), { recursive: true })
    await symlink(outside, join(target, src, 'docs'))
    const was = await outsideNow()
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target, '--overwrite', 'always']), 0, 'restore --overwrite always')
    assert.ok((await lstat(join(target, src, 'docs'))).isDirectory())
    assert.equal(await readFile(join(target, src, 'docs', 'letter.txt'), 'utf8'), 'the restored letter\n')
    assert.deepEqual(await outsideNow(), was)
  })

  it('a symlink planted at a file\'s place is replaced, never written through; under never it is left', async function () {
    const victim = join(outside, 'precious.txt')
    for (const policy of ['if-changed', 'if-newer', 'always', 'never']) {
      const target = join(dir, `t3-${policy}`)
      await mkdir(join(target, src), { recursive: true })
      await symlink(victim, join(target, src, 'top.txt'))
      const r = await hf(repo.home, ['restore', 'latest', '--target', target, '--overwrite', policy])
      expectCode(r, 0, `restore --overwrite ${policy}`)
      assert.equal(await readFile(victim, 'utf8'), 'not to be touched\n', `${policy}: the link's target is untouched`)
      const st = await lstat(join(target, src, 'top.txt'))
      if (policy === 'never') assert.ok(st.isSymbolicLink(), 'never: the link stays')
      else if (policy === 'if-newer') assert.ok(st.isSymbolicLink() || st.isFile())
      else {
        assert.ok(st.isFile(), `${policy}: a regular file now`)
        assert.equal(await readFile(join(target, src, 'top.txt'), 'utf8'), 'top level file\n')
      }
    }
  })

  it('--overwrite never leaves existing files; if-newer keeps a newer one; if-changed replaces a changed one', async function () {
    const target = join(dir, 't4')
    await mkdir(join(target, src, 'docs'), { recursive: true })
    const letter = join(target, src, 'docs', 'letter.txt')
    await writeFile(letter, 'my own edits\n')
    const never = await hf(repo.home, ['restore', '--json', 'latest', '--target', target, '--overwrite', 'never'])
    expectCode(never, 0, 'never')
    assert.equal(parseJson<{ skipped: number }>(never, 'restore').skipped, 1)
    assert.equal(await readFile(letter, 'utf8'), 'my own edits\n')
    const future = new Date(Date.now() + 3600_000)
    await utimes(letter, future, future)
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target, '--overwrite', 'if-newer']), 0, 'if-newer')
    assert.equal(await readFile(letter, 'utf8'), 'my own edits\n', 'the newer file in the target is kept')
    const changed = await hf(repo.home, ['restore', '--json', 'latest', '--target', target])
    expectCode(changed, 0, 'if-changed (default)')
    assert.equal(await readFile(letter, 'utf8'), 'the restored letter\n')
    // a second restore finds everything unchanged and writes nothing
    const again = await hf(repo.home, ['restore', '--json', 'latest', '--target', target])
    assert.equal(parseJson<{ skipped: number, files: number }>(again, 'restore').files, 0)
  })

  it('--verify reads back every restored file; a file altered afterwards is caught by the same check', async function () {
    const target = join(dir, 't5')
    const r = await hf(repo.home, ['restore', '--json', 'latest', '--target', target, '--verify'])
    expectCode(r, 0, 'restore --verify')
    assert.equal(parseJson<{ verified: number }>(r, 'restore').verified, 2)
    // the check itself, on a file changed after the restore
    const letter = join(target, src, 'docs', 'letter.txt')
    await writeFile(letter, 'the restored lettEr\n')
    const opened = await Repository.open(repo.home, PASSPHRASE)
    try {
      const snap = (await opened.register.snapshots()).pop()!.snapshot
      let tree: Tree = await opened.loadTree(snap.tree)
      for (const part of [...src.split('/').filter(Boolean), 'docs']) tree = await opened.loadTree(tree.nodes.find(n => n.name === part)!.subtree!)
      const node = tree.nodes.find(n => n.name === 'letter.txt')!
      const bad = await verifyRestored(opened, [{ path: '/docs/letter.txt', file: letter, content: node.content ?? [] }])
      assert.equal(bad.length, 1)
      assert.match(bad[0].reason, /chunk 0 .* differs from the snapshot/)
      await writeFile(letter, 'the restored letter\n')
      assert.deepEqual(await verifyRestored(opened, [{ path: '/docs/letter.txt', file: letter, content: node.content ?? [] }]), [])
    } finally {
      await opened.close()
    }
  })
})
