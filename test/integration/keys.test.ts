import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compareTrees } from '../../scripts/lib/tree-compare.js'
import { parseKeyFile, unlockKeyFile } from '../../src/crypto/keys.js'
import { isPlainKeyFile, openKeyRecord } from '../../src/repository/key-record.js'
import { expectCode, hf, initRepo, makeTempDir, parseJson, PASSPHRASE, removeDir, writeRandom, type TestRepo } from './helpers.js'

/**
 * `holdfast key`: several passphrases open one repository; passwd checks the new key before the old one
 * goes; a removed key opens nothing, in the home or on the stores; rotate starts new data keys and both
 * the snapshots before and after it restore byte for byte. Through the CLI on real directory stores.
 */
describe('holdfast key: list, add, passwd, remove, rotate (CLI on directory stores)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  let src: string
  const as = (passphrase: string, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOLDFAST_PASSPHRASE: passphrase, ...more })

  interface Listed { generation: number, keys: Array<{ id: string, label: string, created: string, legacy: boolean }> }
  const list = async (): Promise<Listed> => parseJson<Listed>(await hf(repo.home, ['key', 'list', '--json']), 'key list')

  /** Every `key` object the stores keep. */
  async function storeKeyObjects (): Promise<Buffer[][]> {
    return await Promise.all(repo.stores.map(async store => {
      const out: Buffer[] = []
      for (const fan of await readdir(join(store, 'key')).catch(() => [])) {
        for (const f of await readdir(join(store, 'key', fan))) out.push(await readFile(join(store, 'key', fan, f)))
      }
      return out
    }))
  }

  /** Every plain key file the stores keep, parsed (key records, sealed, are not JSON). */
  async function storeKeyFiles (): Promise<Array<{ generation: number, keys: Array<{ id: string }> }>> {
    return (await storeKeyObjects()).flat().filter(b => isPlainKeyFile(b)).map(b => JSON.parse(b.toString('utf8')))
  }

  before(async () => {
    dir = await makeTempDir('keys')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    src = join(dir, 'src')
    await mkdir(join(src, 'sub'), { recursive: true })
    await writeRandom(join(src, 'a.bin'), 700_000)
    await writeFile(join(src, 'sub', 'b.txt'), 'before the keys changed\n')
    expectCode(await hf(repo.home, ['backup', src]), 0, 'first backup')
  })

  after(async () => { await removeDir(dir) })

  const snapshotsAs = async (env: NodeJS.ProcessEnv): Promise<Array<{ id: string }>> => parseJson<Array<{ id: string }>>(await hf(repo.home, ['snapshots', '--json'], env), 'snapshots')

  it('add, passwd, remove: the old passphrase is refused afterwards, in the home and by the stores\' key files; the new one restores byte-identical', async () => {
    const first = await list()
    assert.equal(first.keys.length, 1)
    assert.equal(first.keys[0].label, 'initial')

    const add = await hf(repo.home, ['key', 'add', '--label', 'laptop', '--json'], as(PASSPHRASE, { HOLDFAST_NEW_PASSPHRASE: 'laptop passphrase' }))
    expectCode(add, 0, 'key add')
    const added = parseJson<{ added: { id: string, label: string }, keys: unknown[], storesUpdated: number }>(add, 'key add')
    assert.equal(added.added.label, 'laptop')
    assert.equal(added.keys.length, 2)
    assert.equal(added.storesUpdated, 3)
    // both open it
    expectCode(await hf(repo.home, ['snapshots'], as('laptop passphrase')), 0, 'snapshots with the added key')
    expectCode(await hf(repo.home, ['snapshots']), 0, 'snapshots with the first key')

    // passwd of the first key: the new passphrase replaces it
    const passwd = await hf(repo.home, ['key', 'passwd', '--json'], as(PASSPHRASE, { HOLDFAST_NEW_PASSPHRASE: 'new main passphrase' }))
    expectCode(passwd, 0, 'key passwd')
    const changed = parseJson<{ added: { id: string, label: string }, removed: { id: string } }>(passwd, 'key passwd')
    assert.equal(changed.removed.id, first.keys[0].id)
    assert.equal(changed.added.label, 'initial', 'passwd keeps the label')
    const refused = await hf(repo.home, ['snapshots'], as(PASSPHRASE))
    expectCode(refused, 12, 'the old passphrase after passwd')
    assert.match(refused.stderr, /wrong passphrase/)

    // the laptop key is removed with the main passphrase; its own key cannot be removed by itself
    const self = await hf(repo.home, ['key', 'remove', changed.added.id], as('new main passphrase'))
    expectCode(self, 2, 'removing the key the passphrase opens')
    assert.match(self.stderr, /key passwd/)
    expectCode(await hf(repo.home, ['key', 'remove', added.added.id.slice(0, 6)], as('new main passphrase')), 0, 'key remove by an id prefix')
    expectCode(await hf(repo.home, ['snapshots'], as('laptop passphrase')), 12, 'the removed key')
    assert.deepEqual((await list()).keys.map(k => k.id), [changed.added.id])

    // the stores keep the current key file only: no copy there opens with a removed passphrase
    const copies = await storeKeyFiles()
    assert.equal(copies.length, 3)
    for (const c of copies) assert.deepEqual(c.keys.map(k => k.id), [changed.added.id])

    // the last key cannot go; a wrong passphrase changes nothing
    expectCode(await hf(repo.home, ['key', 'add'], as('not a key', { HOLDFAST_NEW_PASSPHRASE: 'x' })), 12, 'key add with a wrong passphrase')
    assert.equal((await list()).keys.length, 1)

    const target = join(dir, 'restore-new-passphrase')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target], as('new main passphrase')), 0, 'restore with the new passphrase')
    assert.deepEqual(await compareTrees(src, join(target, src)), [])
  })

  it('rotate: refused while another key exists; then new data keys, and the snapshots before and after both restore byte-identical', async () => {
    const main = as('new main passphrase')
    expectCode(await hf(repo.home, ['key', 'add', '--label', 'other'], as('new main passphrase', { HOLDFAST_NEW_PASSPHRASE: 'other passphrase' })), 0, 'key add')
    const refused = await hf(repo.home, ['key', 'rotate'], main)
    expectCode(refused, 2, 'rotate with another key')
    assert.match(refused.stderr, /"other"/)
    const other = (await list()).keys.find(k => k.label === 'other')!
    expectCode(await hf(repo.home, ['key', 'remove', other.id], main), 0, 'key remove')

    const before = await snapshotsAs(main)
    const rotate = await hf(repo.home, ['key', 'rotate', '--json'], main)
    expectCode(rotate, 0, 'key rotate')
    assert.equal(parseJson<{ epochs: number }>(rotate, 'rotate').epochs, 2)

    // data written after the rotation: a changed file and a new one
    await writeFile(join(src, 'sub', 'b.txt'), 'after the rotation\n')
    await writeRandom(join(src, 'c.bin'), 400_000)
    const after = await hf(repo.home, ['backup', '--json', src], main)
    expectCode(after, 0, 'backup after the rotation')
    assert.ok(parseJson<{ bytesAdded: number }>(after, 'backup').bytesAdded >= 400_000)
    const snaps = await snapshotsAs(main)
    assert.equal(snaps.length, before.length + 1)

    const older = join(dir, 'restore-before-rotate')
    expectCode(await hf(repo.home, ['restore', before[before.length - 1].id, '--target', older], main), 0, 'restore of the snapshot before the rotation')
    assert.equal(await readFile(join(older, src, 'sub', 'b.txt'), 'utf8'), 'before the keys changed\n')
    assert.deepEqual(await readFile(join(older, src, 'a.bin')), await readFile(join(src, 'a.bin')))
    const newer = join(dir, 'restore-after-rotate')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', newer], main), 0, 'restore of the snapshot after the rotation')
    assert.deepEqual(await compareTrees(src, join(newer, src)), [])
    // everything stored reads and verifies; the register rebuilt from the stores alone finds both
    expectCode(await hf(repo.home, ['check', '--read-data'], main), 0, 'check --read-data')
    expectCode(await hf(repo.home, ['rebuild-index'], main), 0, 'rebuild-index')
    assert.equal((await snapshotsAs(main)).length, snaps.length)

    // every store keeps one key record (the key file sealed under the repository's keys) of the current
    // key file: the key commands and the backup after them replaced the older ones
    const keyFileBytes = await readFile(join(repo.home, 'key.json'))
    const keys = await unlockKeyFile(parseKeyFile(keyFileBytes), 'new main passphrase')
    for (const objects of await storeKeyObjects()) {
      const records = objects.filter(b => !isPlainKeyFile(b))
      assert.equal(records.length, 1, 'one key record per store')
      const opened = openKeyRecord(keys, records[0])
      assert.ok(opened != null, 'the record opens with the repository keys')
      assert.ok(opened.bytes.equals(keyFileBytes), 'it holds the current key file')
      assert.ok(!opened.bytes.toString().includes(other.id), 'no removed key in it')
    }
  })
})
