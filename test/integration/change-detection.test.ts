/**
 * Change detection compares ctime as well as size, mtime, inode and mode: a file rewritten in place with
 * its old size and its old mtime put back (`touch -r`, or a tool that preserves times) is backed up again.
 */
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { expectCode, hf, initRepo, makeTempDir, parseJson, removeDir, writeRandom } from './helpers.js'

describe('change detection (integration)', function () {
  this.timeout(60_000)
  let dir: string

  before(async function () { dir = await makeTempDir('ctime') })
  after(async function () { await removeDir(dir) })

  it('a file rewritten with its old size and mtime (touch -r) is backed up again', async function () {
    const repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    const src = join(dir, 'src')
    await mkdir(src)
    const file = join(src, 'doc.txt')
    await writeFile(file, 'version one of the document\n')
    await writeRandom(join(src, 'other.bin'), 10_000)
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup 1')
    // same size, new content, the old mtime put back
    execFileSync('cp', ['-p', file, join(dir, 'reference')])
    await new Promise(resolve => setTimeout(resolve, 20))
    await writeFile(file, 'version two of the document\n')
    execFileSync('touch', ['-r', join(dir, 'reference'), file])
    const r = await hf(repo.home, ['backup', '--json', src])
    expectCode(r, 0, 'backup 2')
    const summary = parseJson<{ snapshot: string, filesChanged: number, filesUnchanged: number }>(r, 'backup 2')
    assert.equal(summary.filesChanged, 1, 'the rewritten file is read again')
    assert.equal(summary.filesUnchanged, 1)
    const target = join(dir, 'restore')
    expectCode(await hf(repo.home, ['restore', summary.snapshot, '--target', target]), 0, 'restore')
    assert.equal(await readFile(join(target, file), 'utf8'), 'version two of the document\n')
    // and a third backup of the untouched tree reads nothing
    const third = parseJson<{ filesChanged: number, filesNew: number, bytesRead: number }>(await hf(repo.home, ['backup', '--json', src]), 'backup 3')
    assert.equal(third.filesChanged + third.filesNew, 0)
    assert.equal(third.bytesRead, 0)
  })
})
