import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseKeyFile, unlockKeyFile } from '../../src/crypto/keys.js'
import { homePaths } from '../../src/home/home.js'
import { Repository } from '../../src/repository/repository.js'
import { loadOrCreateIdentity } from '../../src/node/identity.js'
import { backup } from '../../src/backup/index.js'
import { restore } from '../../src/restore/index.js'
import { repairRound, repositoryHealth } from '../../src/maintenance/index.js'
import { MemoryStore } from '../../src/store/index.js'
import type { PackDescriptor } from '../../src/format/format.js'

/**
 * A repair reads k shards of each pack it repairs. A shard those reads find missing from the store it is
 * recorded on (or damaged there) is recorded as lost, as an audit would: since a repair stops at the
 * threshold (src/audit/health.ts, regenerateNow), the pack would otherwise count a shard it does not have
 * until the next audit.
 */
describe('maintenance/repair: what its reads find lost is recorded', function () {
  this.timeout(60_000)
  const PASSPHRASE = 'repair-reads'
  let root: string

  before(async () => { root = await mkdtemp(join(tmpdir(), 'holdfast-repair-reads-')) })
  after(async () => { await rm(root, { recursive: true, force: true }) })

  it('at 4+3: two shards lost by audit are regenerated; the one the reads found missing is then lost in health, and the data restores byte for byte', async () => {
    const home = join(root, 'home')
    await Repository.init({ home, stores: Array.from({ length: 7 }, (_, i) => `dir:${join(root, `store-${i}`)}`), passphrase: PASSPHRASE, k: 4, m: 3, packSize: 64 * 1024 })
    // a node identity seals the placement records a repair writes
    await loadOrCreateIdentity(home)
    const keys = await unlockKeyFile(parseKeyFile(await readFile(homePaths(home).key)), PASSPHRASE)
    const src = join(root, 'src')
    await mkdir(src)
    for (let i = 0; i < 3; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(40_000))
    const stores = Array.from({ length: 7 }, (_, i) => new MemoryStore(`mem:repair-reads-${i}`))
    const open = async (): Promise<Repository> => await Repository.open(home, PASSPHRASE, { stores, unlock: async () => keys })
    let repo = await open()
    try {
      const { snapshot } = await backup(repo, [src], { hostname: 'repair-reads' })
      const packs: PackDescriptor[] = []
      for await (const d of repo.register.packDescriptors()) packs.push(d)
      assert.ok(packs.length > 0)
      const storeOf = (d: PackDescriptor, i: number): MemoryStore => stores.find(s => s.id === d.shards[i].store)!
      for (const d of packs) {
        // shards 4 and 5 gone, and an audit found it; shard 0 gone too, silently (no audit since)
        for (const i of [4, 5, 0]) await storeOf(d, i).delete('shard', d.shards[i].name)
        await repo.register.putShardChecks([4, 5].map(index => ({ pack: d.id, index, check: { at: Date.now(), store: d.shards[index].store, outcome: 'fail' as const, reason: 'missing' } })))
      }
      let health = await repositoryHealth(repo)
      for (const p of health.packs) assert.deepEqual([p.health, p.regenerateNow, p.needsRepair], [5, [4, 5], true], `pack ${p.pack} before the repair`)

      // one pack per round, each in a session opened afresh: with no read times learnt yet, the reads start
      // with the data shards, shard 0 among them (later packs of one session would start with the stores
      // that answered fastest, which may leave shard 0 unread)
      const repaired: Array<{ placed: Array<{ index: number }> }> = []
      for (let i = 0; i < packs.length; i++) {
        await repo.close()
        repo = await open()
        const report = await repairRound(repo, { maxPacks: 1 })
        assert.deepEqual(report.failed, [])
        repaired.push(...report.repaired)
      }
      assert.equal(repaired.length, packs.length)
      for (const r of repaired) assert.deepEqual(r.placed.map(x => x.index), [4, 5])
      // the reads of the data shards first found shard 0 missing: health knows it now, not at the next audit
      health = await repositoryHealth(repo)
      for (const p of health.packs) {
        assert.deepEqual([p.health, p.regenerate, p.causes[0], p.needsRepair], [6, [0], 'lost', false], `pack ${p.pack} after the repair`)
        assert.match(p.problems.join('; '), /shard 0 .*a repair's read: shard 0 is missing/)
      }
      const target = join(root, 'restored')
      await restore(repo, snapshot.tree, target)
      for (let i = 0; i < 3; i++) assert.deepEqual(await readFile(join(target, src, `f${i}.bin`)), await readFile(join(src, `f${i}.bin`)))
    } finally {
      await repo.close()
    }
  })
})
