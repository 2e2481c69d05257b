/**
 * Retention through the CLI with directory stores: forget by policy and by name, archive, prune freeing
 * the stores' space (and refusing to run beside a backup), and what remains restoring byte-identically.
 */
import assert from 'node:assert/strict'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { shardFiles } from '../../scripts/lib/shard-files.js'
import { expectCode, fileHashes, hf, initRepo, makeTempDir, parseJson, removeDir, snapshotsJson, TestRepo, writeRandom } from './helpers.js'

async function storeBytes (stores: string[]): Promise<number> {
  let n = 0
  for (const s of stores) for (const f of await shardFiles(s)) n += (await stat(f)).size
  return n
}

describe('retention (integration)', function () {
  let dir: string
  let repo: TestRepo
  let src: string
  /** Each file's content hash as each snapshot saw it, by snapshot id. */
  const states = new Map<string, Map<string, string>>()

  before(async function () {
    dir = await makeTempDir('retention')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    src = join(dir, 'src')
    await mkdir(src)
    await writeRandom(join(src, 'base.bin'), 300_000)
    // five snapshots, each adding a file and dropping the one before (so pruning frees real data)
    for (let i = 1; i <= 5; i++) {
      await writeRandom(join(src, `gen${i}.bin`), 400_000)
      if (i > 1) await rm(join(src, `gen${i - 1}.bin`))
      const r = await hf(repo.home, ['backup', '--json', ...(i === 2 ? ['--tag', 'release'] : []), src])
      expectCode(r, 0, `backup ${i}`)
      const id = parseJson<{ snapshot: string }>(r, 'backup').snapshot
      states.set(id, await fileHashes(src))
    }
  })

  after(async function () {
    await removeDir(dir)
  })

  it('forget --dry-run lists what a policy would remove and changes nothing', async function () {
    const before = await snapshotsJson(repo.home)
    const r = await hf(repo.home, ['forget', '--json', '--dry-run', '--keep-last', '1'])
    expectCode(r, 0, 'forget --dry-run')
    const out = parseJson<{ removed: string[], kept: Array<{ name: string, reasons: string[] }> }>(r, 'forget')
    assert.equal(out.removed.length, 4)
    assert.deepEqual(out.kept.map(k => k.name), [before[4].id])
    assert.deepEqual(await snapshotsJson(repo.home), before)
  })

  it('a policy of no rule is refused', async function () {
    const r = await hf(repo.home, ['forget'])
    expectCode(r, 2, 'forget without rules')
    assert.match(r.stderr, /at least one --keep-\* rule/)
  })

  it('prune refuses to run while a backup holds the lock, and changes nothing', async function () {
    const before = await storeBytes(repo.stores)
    // a live process (this test) holding the home's lock, as a running backup does
    await writeFile(join(repo.home, 'lock'), JSON.stringify({ pid: process.pid, what: 'backup', since: new Date().toISOString() }))
    try {
      const r = await hf(repo.home, ['prune'])
      expectCode(r, 11, 'prune beside a backup')
      assert.match(r.stderr, /locked by backup, pid \d+, for \d+s/)
    } finally {
      await rm(join(repo.home, 'lock'), { force: true })
    }
    assert.equal(await storeBytes(repo.stores), before)
  })

  it('archive pins a snapshot that keep-last then spares; forget + prune free the stores; what remains restores byte-identical', async function () {
    const snaps = await snapshotsJson(repo.home)
    // pin the first snapshot
    const a = await hf(repo.home, ['archive', '--json', snaps[0].short])
    expectCode(a, 0, 'archive')
    const pinned = parseJson<{ snapshot: string, previous: string }>(a, 'archive')
    assert.equal(pinned.previous, snaps[0].id)
    states.set(pinned.snapshot, states.get(snaps[0].id)!)
    const after = await snapshotsJson(repo.home)
    assert.equal(after.find(s => s.id === pinned.snapshot)?.archived, true)
    assert.equal(after.some(s => s.id === snaps[0].id), false, 'the old record is gone')

    const bytesBefore = await storeBytes(repo.stores)
    const r = await hf(repo.home, ['forget', '--json', '--keep-last', '1', '--keep-tag', 'release', '--prune'])
    expectCode(r, 0, 'forget --prune')
    const out = parseJson<{ removed: string[], prune: { shardsDeleted: number, bytesFreed: number, packs: { deleted: number } } }>(r, 'forget')
    assert.deepEqual(out.removed.sort(), [snaps[2].id, snaps[3].id].sort(), 'snapshots 3 and 4 go; 1 (archived), 2 (tag) and 5 (last) stay')
    assert.ok(out.prune.shardsDeleted > 0 && out.prune.packs.deleted > 0, JSON.stringify(out.prune))
    const bytesAfter = await storeBytes(repo.stores)
    // gen3 and gen4 (400 kB each, stored 1.5x) were needed by the forgotten snapshots only
    assert.ok(bytesBefore - bytesAfter >= 2 * 400_000 * 1.5 * 0.9, `freed ${bytesBefore - bytesAfter} bytes`)

    const left = await snapshotsJson(repo.home)
    assert.equal(left.length, 3)
    expectCode(await hf(repo.home, ['check', '--read-data']), 0, 'check --read-data after prune')
    for (const s of left) {
      const target = join(dir, 'restore', s.short)
      expectCode(await hf(repo.home, ['restore', s.short, '--target', target]), 0, `restore ${s.short}`)
      assert.deepEqual(await fileHashes(join(target, src)), states.get(s.id), `snapshot ${s.short} restores byte-identical`)
    }
  })

  it('a second prune finds nothing to do; rebuild-index after prune sees the same snapshots', async function () {
    const r = await hf(repo.home, ['prune', '--json'])
    expectCode(r, 0, 'prune')
    const out = parseJson<{ packs: { deleted: number, repacked: number }, shardsDeleted: number }>(r, 'prune')
    assert.deepEqual([out.packs.deleted, out.packs.repacked, out.shardsDeleted], [0, 0, 0])
    const before = (await snapshotsJson(repo.home)).map(s => s.id)
    expectCode(await hf(repo.home, ['rebuild-index']), 0, 'rebuild-index')
    assert.deepEqual((await snapshotsJson(repo.home)).map(s => s.id), before)
    expectCode(await hf(repo.home, ['check', '--read-data']), 0, 'check after rebuild')
  })

  it('forget of an archived snapshot by name is refused until archive --undo', async function () {
    const pinned = (await snapshotsJson(repo.home)).find(s => s.archived)!
    const r = await hf(repo.home, ['forget', pinned.short])
    expectCode(r, 2, 'forget archived')
    assert.match(r.stderr, /is archived/)
    const u = await hf(repo.home, ['archive', '--json', '--undo', pinned.short])
    expectCode(u, 0, 'archive --undo')
    const id = parseJson<{ snapshot: string }>(u, 'archive --undo').snapshot
    expectCode(await hf(repo.home, ['forget', id.slice(0, 8)]), 0, 'forget after undo')
    assert.equal((await snapshotsJson(repo.home)).some(s => s.id === id), false)
  })

  it('a partly used pack is repacked only past --repack-unused; what it kept restores byte-identical', async function () {
    const small = join(dir, 'small')
    await mkdir(small)
    await writeRandom(join(small, 'x.bin'), 100_000)
    await writeRandom(join(small, 'y.bin'), 10_000) // in the same pack as x.bin
    const first = parseJson<{ snapshot: string }>(await hf(repo.home, ['backup', '--json', small]), 'backup').snapshot
    await rm(join(small, 'y.bin'))
    expectCode(await hf(repo.home, ['backup', small]), 0, 'backup without y')
    expectCode(await hf(repo.home, ['forget', first.slice(0, 8)]), 0, 'forget the first')
    // y.bin is about 9% of its pack: below the default 20%, the pack stays whole
    const dry = parseJson<{ packs: { repacked: number }, unusedKept: number }>(await hf(repo.home, ['prune', '--json', '--dry-run']), 'prune --dry-run')
    assert.equal(dry.packs.repacked, 0)
    assert.ok(dry.unusedKept >= 10_000, `unused kept ${dry.unusedKept}`)
    const r = await hf(repo.home, ['prune', '--json', '--repack-unused', '0'])
    expectCode(r, 0, 'prune --repack-unused 0')
    const out = parseJson<{ packs: { repacked: number, written: number }, unusedKept: number }>(r, 'prune')
    assert.ok(out.packs.repacked >= 1 && out.packs.written >= 1, JSON.stringify(out.packs))
    assert.equal(out.unusedKept, 0)
    expectCode(await hf(repo.home, ['check', '--read-data']), 0, 'check after repacking')
    const target = join(dir, 'restore-small')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target]), 0, 'restore')
    assert.deepEqual(await fileHashes(join(target, small)), await fileHashes(small))
    expectCode(await hf(repo.home, ['rebuild-index']), 0, 'rebuild-index')
    const again = join(dir, 'restore-small-2')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', again]), 0, 'restore from the rebuilt register')
    assert.deepEqual(await fileHashes(join(again, small)), await fileHashes(small))
  })
})
