/**
 * The speed vault through the CLI: it keeps every pack's data shards, a restore reads them first (and so
 * works with most stores gone), and prune deletes from it too.
 */
import assert from 'node:assert/strict'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { countShards, expectCode, fileHashes, hf, initRepo, makeTempDir, removeDir, TestRepo, writeRandom } from './helpers.js'

describe('speed vault (integration)', function () {
  let dir: string
  let repo: TestRepo
  let vault: string
  let src: string

  before(async function () {
    dir = await makeTempDir('vault')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    vault = join(dir, 'vault')
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({ vault }))
    src = join(dir, 'src')
    await mkdir(src)
    await writeRandom(join(src, 'a.bin'), 600_000)
    await writeRandom(join(src, 'b.bin'), 400_000)
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup')
  })

  after(async function () {
    await removeDir(dir)
  })

  it('keeps the k data shards of every pack', async function () {
    const placed = await countShards(repo.stores)
    assert.equal(await countShards([vault]), placed / 3 * 2, 'k of every k+m shards')
  })

  it('a restore reads the vault first: with 2 of 3 stores gone it still restores byte-identical', async function () {
    await rename(repo.stores[0], `${repo.stores[0]}.away`)
    await rename(repo.stores[1], `${repo.stores[1]}.away`)
    try {
      const target = join(dir, 'restored')
      expectCode(await hf(repo.home, ['restore', 'latest', '--target', target]), 0, 'restore from the vault')
      assert.deepEqual(await fileHashes(join(target, src)), await fileHashes(src))
    } finally {
      await rename(`${repo.stores[0]}.away`, repo.stores[0])
      await rename(`${repo.stores[1]}.away`, repo.stores[1])
    }
  })

  it('prune deletes from the vault what it deletes from the stores', async function () {
    await rm(join(src, 'a.bin'))
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup 2')
    const before = await countShards([vault])
    expectCode(await hf(repo.home, ['forget', '--keep-last', '1', '--prune']), 0, 'forget --prune')
    const after = await countShards([vault])
    assert.ok(after < before, `vault ${before} -> ${after} shards`)
    assert.equal(after, (await countShards(repo.stores)) / 3 * 2)
  })
})
