/**
 * Format compatibility: test/fixtures/repo-v1 is a repository written by format version 1 (made by
 * test/fixtures/make-repo-v1.ts and kept in git). Every later version must still restore and check it.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { cp, lstat, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Expected } from '../fixtures/make-repo-v1.js'
import { allPaths, expectCode, hf, makeTempDir, parseJson, removeDir } from './helpers.js'

/** dist/test/integration/fixture.test.js -> test/fixtures/repo-v1 (the source tree, not a copy in dist) */
const FIXTURE = fileURLToPath(new URL('../../../test/fixtures/repo-v1', import.meta.url))

async function loadExpected (): Promise<Expected> {
  return JSON.parse(await readFile(join(FIXTURE, 'expected.json'), 'utf8')) as Expected
}

/** Copies the fixture's home and stores into dir; returns the home. */
async function copyFixture (dir: string): Promise<string> {
  await cp(join(FIXTURE, 'home'), join(dir, 'home'), { recursive: true })
  await cp(join(FIXTURE, 'stores'), join(dir, 'stores'), { recursive: true })
  return join(dir, 'home')
}

/** Compares a restored tree with expected.json entry by entry; returns the differences. */
async function verifyRestore (expected: Expected, restoredRoot: string): Promise<string[]> {
  const diffs: string[] = []
  for (const [rel, e] of Object.entries(expected.entries)) {
    const p = join(restoredRoot, rel)
    let st
    try { st = await lstat(p) } catch { diffs.push(`${rel}: missing`); continue }
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other'
    if (type !== e.type) { diffs.push(`${rel}: ${e.type} restored as ${type}`); continue }
    if (e.mode != null && (st.mode & 0o7777) !== e.mode) diffs.push(`${rel}: mode ${(st.mode & 0o7777).toString(8)}, expected ${e.mode.toString(8)}`)
    if (st.mtime.toISOString() !== e.mtime) diffs.push(`${rel}: mtime ${st.mtime.toISOString()}, expected ${e.mtime}`)
    if (e.type === 'symlink' && await readlink(p) !== e.target) diffs.push(`${rel}: symlink to ${await readlink(p)}, expected ${String(e.target)}`)
    if (e.type === 'file') {
      if (st.size !== e.size) diffs.push(`${rel}: size ${st.size}, expected ${String(e.size)}`)
      const hash = createHash('sha256').update(await readFile(p)).digest('hex')
      if (hash !== e.sha256) diffs.push(`${rel}: content differs`)
    }
  }
  for (const rel of await allPaths(restoredRoot)) {
    if (!(rel in expected.entries)) diffs.push(`${rel}: not in the fixture's source tree`)
  }
  return diffs
}

interface CheckJson { ok: boolean, snapshots: number, packs: number, degraded: number, errors: string[] }

describe('format fixture repo-v1', function () {
  let expected: Expected

  before(async function () {
    expected = await loadExpected()
    assert.equal(expected.formatVersion, 1)
    assert.ok(Object.keys(expected.entries).length >= 8)
  })

  // Regression: pack descriptors name the store each shard was placed on by its spec (its absolute path);
  // before HEAD ba964ef a repository whose stores had moved could not be read at all ("store dir:... is not
  // configured"). Since then a shard is looked for on every configured store when its own is not known.
  describe('copied to a new place, with holdfast.json pointing at the copies', function () {
    let dir: string
    let home: string

    before(async function () {
      dir = await makeTempDir('fixture')
      home = await copyFixture(dir)
      const configPath = join(home, 'holdfast.json')
      const config = JSON.parse(await readFile(configPath, 'utf8')) as { stores: string[] }
      assert.deepEqual(config.stores, expected.stores)
      config.stores = config.stores.map((_, i) => `dir:${join(dir, 'stores', `s${i + 1}`)}`)
      await writeFile(configPath, JSON.stringify(config, null, 2) + '\n')
    })

    after(async function () { await removeDir(dir) })

    it('restore latest rebuilds the missing register and restores every entry of expected.json', async function () {
      const target = join(dir, 'restore')
      const r = await hf(home, ['restore', 'latest', '--target', target], { HOLDFAST_PASSPHRASE: expected.passphrase })
      expectCode(r, 0, 'restore latest from the fixture')
      assert.deepEqual(await verifyRestore(expected, join(target, expected.source)), [])
    })

    it('check --read-data exits 0', async function () {
      const r = await hf(home, ['check', '--read-data', '--json'], { HOLDFAST_PASSPHRASE: expected.passphrase })
      expectCode(r, 0, 'check --read-data on the fixture')
      const res = parseJson<CheckJson>(r, 'check --json')
      assert.equal(res.ok, true)
      assert.equal(res.snapshots, expected.snapshots)
      assert.equal(res.degraded, 0)
      assert.ok(res.packs > 0)
    })

    it('snapshots rebuilds the missing register from the copied stores and lists the fixture\'s snapshot', async function () {
      const r = await hf(home, ['snapshots', '--json'], { HOLDFAST_PASSPHRASE: expected.passphrase })
      expectCode(r, 0, 'snapshots on the fixture')
      const snaps = parseJson<Array<{ paths: string[], partial: boolean }>>(r, 'snapshots --json')
      assert.equal(snaps.length, expected.snapshots)
      assert.deepEqual(snaps[0].paths, [expected.source])
      assert.equal(snaps[0].partial, false)
    })

    it('a wrong passphrase exits 12', async function () {
      const r = await hf(home, ['snapshots'], { HOLDFAST_PASSPHRASE: 'not-the-fixture-passphrase' })
      expectCode(r, 12, 'snapshots with a wrong passphrase')
    })
  })

  // The same checks with the stores reachable at the paths recorded in the fixture (through a symlink at
  // the fixed path /tmp/holdfast-fixture-v1 to a temporary copy): format version 1 is read whether or not
  // the stores were moved.
  describe('at the store paths it was made with', function () {
    let dir: string
    let home: string
    let link: string | undefined

    before(async function () {
      dir = await makeTempDir('fixture-orig')
      home = await copyFixture(dir)
      const storesAt = expected.stores[0].replace(/^dir:/, '').replace(/\/stores\/s1$/, '')
      try {
        await symlink(dir, storesAt)
        link = storesAt
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') this.skip() // another run is using the fixed path
        throw err
      }
    })

    after(async function () {
      if (link != null) await rm(link, { force: true })
      await removeDir(dir)
    })

    it('restore latest restores every entry of expected.json', async function () {
      const target = join(dir, 'restore')
      const r = await hf(home, ['restore', 'latest', '--target', target], { HOLDFAST_PASSPHRASE: expected.passphrase })
      expectCode(r, 0, 'restore latest from the fixture')
      assert.deepEqual(await verifyRestore(expected, join(target, expected.source)), [])
    })

    it('check --read-data exits 0', async function () {
      const r = await hf(home, ['check', '--read-data', '--json'], { HOLDFAST_PASSPHRASE: expected.passphrase })
      expectCode(r, 0, 'check --read-data on the fixture')
      const res = parseJson<CheckJson>(r, 'check --json')
      assert.equal(res.ok, true)
      assert.equal(res.snapshots, expected.snapshots)
      assert.equal(res.degraded, 0)
      assert.ok(res.packs > 0)
    })

    it('ls latest --json lists exactly the fixture\'s entries', async function () {
      const r = await hf(home, ['ls', 'latest', expected.source, '--json'], { HOLDFAST_PASSPHRASE: expected.passphrase })
      expectCode(r, 0, 'ls on the fixture')
      const rows = parseJson<Array<{ path: string, type: string, size: number }>>(r, 'ls --json')
      const rel = (p: string): string => p === expected.source ? '.' : p.slice(expected.source.length + 1)
      assert.deepEqual(rows.map(row => rel(row.path)).sort(), Object.keys(expected.entries).sort())
      for (const row of rows) {
        const e = expected.entries[rel(row.path)]
        assert.equal(row.type, e.type, row.path)
        if (e.type === 'file') assert.equal(row.size, e.size, row.path)
      }
    })
  })
})
