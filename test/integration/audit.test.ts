import assert from 'node:assert/strict'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expectCode, hf, initRepo, makeTempDir, parseJson, removeDir, shardFiles, writeRandom, type TestRepo } from './helpers.js'

interface AuditJson { shards: number, stores: Array<{ store: string, challenged: number, passed: number, failed: number, unreachable: number }>, problems: Array<{ pack: string, index: number, store: string, outcome: string, reason?: string }> }
interface HealthJson { ok: boolean, packs: Array<{ pack: string, health: number, n: number, needsRepair: boolean, unrecoverable: boolean, regenerate: number[] }>, snapshots: Array<{ id: string, packs: number, byHealth: Array<{ health: number, n: number, packs: number }> }> }

describe('holdfast audit and health (directory stores, through the CLI)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo

  before(async () => {
    dir = await makeTempDir('audit')
    repo = await initRepo(dir)
    await mkdir(join(dir, 'src'))
    await writeRandom(join(dir, 'src', 'a.bin'), 1_500_000)
    await writeRandom(join(dir, 'src', 'b.bin'), 700_000)
    expectCode(await hf(repo.home, ['backup', join(dir, 'src')]), 0, 'backup')
  })

  after(async () => { await removeDir(dir) })

  it('a healthy repository: every shard passes, every pack is at full health, exit 0', async () => {
    const a = await hf(repo.home, ['audit', '--json'])
    expectCode(a, 0, 'audit')
    const audit = parseJson<AuditJson>(a, 'audit')
    assert.ok(audit.shards >= 12, `shards challenged: ${audit.shards}`)
    assert.equal(audit.stores.length, 6)
    for (const s of audit.stores) assert.equal(s.passed, s.challenged)
    assert.deepEqual(audit.problems, [])
    const h = await hf(repo.home, ['health', '--json'])
    expectCode(h, 0, 'health')
    const health = parseJson<HealthJson>(h, 'health')
    assert.equal(health.ok, true)
    for (const p of health.packs) assert.equal(p.health, p.n)
    assert.equal(health.snapshots.length, 1)
    assert.deepEqual(health.snapshots[0].byHealth.map(b => [b.health, b.n]), [[6, 6]])
    const text = await hf(repo.home, ['health'])
    assert.match(text.stdout, /all \d+ packs? at 6\/6/)
  })

  it('a store that lost every shard and one that flipped a byte are caught by one round; health shows the packs to repair', async () => {
    const emptied = repo.stores[1]
    const lost = await shardFiles(emptied)
    assert.ok(lost.length > 0)
    for (const f of lost) await rm(f)
    const flipped = (await shardFiles(repo.stores[3]))[0]
    const bytes = await readFile(flipped)
    bytes[bytes.length >> 1] ^= 0x40
    await writeFile(flipped, bytes)

    const a = await hf(repo.home, ['audit', '--json'])
    expectCode(a, 1, 'audit with lost shards')
    assert.match(a.stderr, /shard\(s\) failed their challenge/)
    const audit = parseJson<AuditJson>(a, 'audit')
    const byStore = new Map(audit.stores.map(s => [s.store, s]))
    assert.equal(byStore.get(`dir:${emptied}`)?.failed, lost.length, 'every shard of the emptied store failed')
    assert.equal(byStore.get(`dir:${emptied}`)?.passed, 0)
    assert.equal(byStore.get(`dir:${repo.stores[3]}`)?.failed, 1, 'the flipped shard failed (a single segment challenged)')
    for (const s of [0, 2, 4, 5]) assert.equal(byStore.get(`dir:${repo.stores[s]}`)?.failed, 0)
    assert.ok(audit.problems.every(p => p.outcome === 'fail'))
    assert.ok(audit.problems.some(p => p.reason === 'missing'))

    const h = await hf(repo.home, ['health', '--json'])
    expectCode(h, 3, 'health below full redundancy')
    assert.match(h.stderr, /below the repair threshold; run "holdfast repair"/)
    const health = parseJson<HealthJson>(h, 'health')
    const degraded = health.packs.filter(p => p.health < p.n)
    assert.equal(degraded.reduce((n, p) => n + p.regenerate.length, 0), lost.length + 1, 'one shard to regenerate per lost shard')
    assert.ok(degraded.every(p => p.needsRepair && !p.unrecoverable))
    const text = await hf(repo.home, ['health'])
    assert.match(text.stdout, /packs? at 5\/6/)
    assert.match(text.stdout, /missing/)
  })

  it('repair regenerates the lost shards: full health again, a new audit passes, and a restore with two stores gone is byte-identical', async () => {
    const r = await hf(repo.home, ['repair', '--json'])
    expectCode(r, 0, 'repair')
    const res = parseJson<{ ok: boolean, needed: number, repaired: Array<{ pack: string, placed: Array<{ index: number, store: string }> }>, failed: unknown[] }>(r, 'repair')
    assert.equal(res.ok, true)
    assert.ok(res.needed > 0)
    assert.deepEqual(res.failed, [])
    const h = await hf(repo.home, ['health', '--json'])
    expectCode(h, 0, 'health after repair')
    for (const p of parseJson<HealthJson>(h, 'health').packs) assert.equal(p.health, p.n, `pack ${p.pack} at ${p.health}/${p.n}`)
    const a = await hf(repo.home, ['audit', '--json'])
    expectCode(a, 0, 'audit after repair')
    assert.deepEqual(parseJson<AuditJson>(a, 'audit').problems, [])
    expectCode(await hf(repo.home, ['check', '--read-data']), 0, 'check --read-data after repair')
    // any two stores gone: still restorable
    for (const s of [repo.stores[0], repo.stores[5]]) await rm(s, { recursive: true, force: true })
    const target = join(dir, 'restored')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target]), 0, 'restore with 2 stores gone')
    for (const f of ['a.bin', 'b.bin']) {
      assert.deepEqual(await readFile(join(target, dir, 'src', f)), await readFile(join(dir, 'src', f)), f)
    }
  })

  it('refuses a --segments outside 1-16 (usage, exit 2)', async () => {
    expectCode(await hf(repo.home, ['audit', '--segments', '17']), 2, 'too many segments')
  })
})

describe('holdfast health and repair at 4+3 (the automatic threshold, through the CLI)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo

  before(async () => {
    dir = await makeTempDir('audit43')
    repo = await initRepo(dir, { count: 7, k: 4, m: 3 })
    await mkdir(join(dir, 'src'))
    await writeRandom(join(dir, 'src', 'a.bin'), 900_000)
    expectCode(await hf(repo.home, ['backup', join(dir, 'src')]), 0, 'backup')
  })

  after(async () => { await removeDir(dir) })

  it('one lost shard per pack waits (health exit 0, repair does nothing); a second loss is repaired with the first, and the data survives three stores gone', async () => {
    const lose = async (store: string): Promise<void> => {
      for (const f of await shardFiles(store)) await rm(f)
      expectCode(await hf(repo.home, ['audit', '--json']), 1, 'audit with lost shards')
    }
    await lose(repo.stores[1])
    let h = await hf(repo.home, ['health', '--json'])
    expectCode(h, 0, 'health with one shard lost per pack: above the threshold of 6')
    let health = parseJson<HealthJson>(h, 'health')
    assert.ok(health.packs.length > 0)
    for (const p of health.packs) assert.deepEqual([p.health, p.n, p.needsRepair], [6, 7, false], `pack ${p.pack}`)
    assert.match((await hf(repo.home, ['health'])).stdout, /packs? at 6\/7[\s\S]*short of full redundancy but above the repair threshold/)
    const idle = parseJson<{ needed: number, repaired: unknown[] }>(await hf(repo.home, ['repair', '--json']), 'repair')
    assert.deepEqual([idle.needed, idle.repaired.length], [0, 0], 'nothing repaired for one lost shard')

    await lose(repo.stores[4])
    h = await hf(repo.home, ['health', '--json'])
    expectCode(h, 3, 'health with two shards lost per pack')
    health = parseJson<HealthJson>(h, 'health')
    for (const p of health.packs) assert.deepEqual([p.health, p.needsRepair, p.regenerate.length], [5, true, 2], `pack ${p.pack}`)
    const r = await hf(repo.home, ['repair', '--json'])
    expectCode(r, 0, 'repair')
    const res = parseJson<{ needed: number, repaired: Array<{ placed: Array<{ index: number }> }>, failed: unknown[] }>(r, 'repair')
    assert.deepEqual(res.failed, [])
    assert.ok(res.repaired.every(p => p.placed.length === 2), 'both lost shards of each pack regenerated')
    h = await hf(repo.home, ['health', '--json'])
    expectCode(h, 0, 'health after repair')
    for (const p of parseJson<HealthJson>(h, 'health').packs) assert.equal(p.health, 7)
    for (const s of [repo.stores[0], repo.stores[3], repo.stores[6]]) await rm(s, { recursive: true, force: true })
    const target = join(dir, 'restored')
    expectCode(await hf(repo.home, ['restore', 'latest', '--target', target]), 0, 'restore with 3 stores gone')
    assert.deepEqual(await readFile(join(target, dir, 'src', 'a.bin')), await readFile(join(dir, 'src', 'a.bin')))
  })
})
