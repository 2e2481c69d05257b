import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseKeyFile, unlockKeyFile, type RepositoryKeys } from '../../src/crypto/keys.js'
import { homePaths } from '../../src/home/home.js'
import { Repository } from '../../src/repository/repository.js'
import { backup } from '../../src/backup/index.js'
import { restore } from '../../src/restore/index.js'
import { MemoryStore } from '../../src/store/index.js'
import { FaultStore } from '../../src/store/faults/index.js'

/**
 * Placing a pack's shards when a store fails a put and no spare store is left: the store that failed is
 * asked once more (a connection cut by a heartbeat, a peer restarting), so a transient failure does not
 * fail the session; a store that keeps failing still fails it with a PlacementError naming the store.
 */
describe('repository/PackIo: shards with no spare store', function () {
  this.timeout(60_000)
  const PASSPHRASE = 'pack-io'
  let root: string
  let home: string
  let keys: RepositoryKeys
  let src: string

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'holdfast-pack-io-'))
    home = join(root, 'home')
    await Repository.init({ home, stores: Array.from({ length: 6 }, (_, i) => `dir:${join(root, `store-${i}`)}`), passphrase: PASSPHRASE, k: 4, m: 2, packSize: 64 * 1024 })
    keys = await unlockKeyFile(parseKeyFile(await readFile(homePaths(home).key)), PASSPHRASE)
    src = join(root, 'src')
    await mkdir(src)
    for (let i = 0; i < 4; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(50_000))
  })

  after(async () => { await rm(root, { recursive: true, force: true }) })

  /** Six stores for 4+2 (no spare); store 2 fails the shard puts that `failPut` says it fails. */
  async function open (failPut: (nth: number) => boolean): Promise<{ repo: Repository, flaky: FaultStore, puts: () => number }> {
    const stores = Array.from({ length: 6 }, (_, i) => new FaultStore(new MemoryStore(`mem:pack-io-${i}`)))
    const flaky = stores[2]
    let puts = 0
    flaky.onCall = (method, kind) => {
      if (method !== 'put' || kind !== 'shard') { flaky.faults.fail = 0; return }
      flaky.faults.fail = failPut(puts++) ? 1 : 0
    }
    const repo = await Repository.open(home, PASSPHRASE, { stores, unlock: async () => keys })
    return { repo, flaky, puts: () => puts }
  }

  it('a store that fails a put once is asked again: the backup succeeds, each pack on 6 distinct stores, and restores byte-identical', async () => {
    const { repo, flaky } = await open(nth => nth === 0)
    try {
      await backup(repo, [src], { hostname: 'pack-io' })
      assert.equal(flaky.injected.fail, 1)
      let packs = 0
      for await (const d of repo.register.packDescriptors()) {
        packs++
        assert.equal(new Set(d.shards.map(s => s.store)).size, 6, `pack ${d.id} on distinct stores`)
      }
      assert.ok(packs > 1)
      const snapshots = await repo.register.snapshots()
      const target = join(root, 'restored')
      await restore(repo, snapshots[0].snapshot.tree, target)
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(await readFile(join(target, src, `f${i}.bin`)), await readFile(join(src, `f${i}.bin`)))
      }
    } finally {
      await repo.close()
    }
  })

  it('a store that fails every put still fails the backup, with a PlacementError naming it; no snapshot is written', async () => {
    const { repo } = await open(() => true)
    try {
      const before = (await repo.register.snapshots()).length
      await assert.rejects(backup(repo, [src], { hostname: 'pack-io' }), (err: Error) => {
        assert.equal(err.name, 'PlacementError')
        assert.match(err.message, /found no store: mem:pack-io-2: /)
        return true
      })
      assert.equal((await repo.register.snapshots()).length, before)
    } finally {
      await repo.close()
    }
  })
})
