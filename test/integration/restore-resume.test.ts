/**
 * A restore's memory does not grow with the snapshot (its plan is on disk; the file records it holds at
 * once, counted by the restore itself, are those of the packs in flight), and an interrupted restore -
 * killed, or cut short by shards out of reach - run again with the same target skips what is complete and
 * finishes, leaving no temporary file and no plan behind.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { PackDescriptor } from '../../src/format/format.js'
import { Repository } from '../../src/repository/repository.js'
import { restore } from '../../src/restore/restore.js'
import { walkSnapshot } from '../../src/restore/snapshot-walk.js'
import { BIN } from '../../scripts/lib/cli-runner.js'
import { expectCode, fileHashes, hf, initRepo, leftoverTempFiles, makeTempDir, parseJson, PASSPHRASE, removeDir, saveStores, TestRepo } from './helpers.js'

const FILES = 50_000
/** File records a restore may hold at once, whatever the size of the tree: three packs of 256 KiB in flight hold about 850 small files each. */
const RECORDS_BOUND = 5_000

/** A seeded tree of `files` small files in 250 directories (d0/e0 to d9/e24), then, last in d0, three files of several chunks each. */
async function makeTree (root: string, files: number): Promise<void> {
  let seed = 0x2545f491
  const next = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return seed >>> 0 }
  for (let d = 0; d < 250; d++) {
    const dir = join(root, `d${Math.floor(d / 25)}`, `e${d % 25}`)
    await mkdir(dir, { recursive: true })
    const writes: Array<Promise<void>> = []
    for (let f = 0; f < files / 250; f++) {
      const body = Buffer.alloc(next() % 600)
      for (let i = 0; i < body.length; i++) body[i] = next() & 0xff
      writes.push(writeFile(join(dir, `f${f}.txt`), body))
    }
    await Promise.all(writes)
  }
  for (let i = 0; i < 3; i++) {
    const big = Buffer.alloc(3 * 1024 * 1024)
    for (let j = 0; j < big.length; j += 4) big.writeUInt32LE(next(), j)
    await writeFile(join(root, 'd0', `zbig${i}.bin`), big)
  }
}

async function countFiles (root: string): Promise<number> {
  let n = 0
  const walk = async (dir: string): Promise<void> => {
    let entries
    try { entries = await readdir(dir, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      if (e.isDirectory()) await walk(join(dir, e.name))
      else if (e.isFile() && !e.name.startsWith('.hf-')) n++
    }
  }
  await walk(root)
  return n
}

describe('restore: memory bounded whatever the snapshot, and an interrupted restore run again finishes (integration)', function () {
  this.timeout(240_000)
  let dir: string
  let repo: TestRepo
  let src: string
  let expected: Map<string, string>
  /** d0, a tenth of the small files and the three large ones: the part the interrupted restores restore (as backed up, or below a target) */
  const part = (target?: string): string => target == null ? join(src, 'd0') : join(target, src, 'd0')
  const PART_FILES = FILES / 10 + 3
  const expectedPart = (): Map<string, string> => new Map([...expected].filter(([p]) => p.startsWith('d0/')).map(([p, h]) => [p.slice(3), h]))
  /** what the plans folder holds: each running or killed restore's plan and, beside it, the name of its target (plan-<id>.target) */
  const plans = (): string[] => existsSync(join(repo.home, 'restore-plans')) ? readdirSync(join(repo.home, 'restore-plans')) : []

  before(async function () {
    dir = await makeTempDir('restore-resume')
    repo = await initRepo(dir, { packSize: '256KiB' })
    src = join(dir, 'src')
    await makeTree(src, FILES)
    expectCode(await hf(repo.home, ['backup', src]), 0, 'backup')
    expected = await fileHashes(src)
    assert.equal(expected.size, FILES + 3)
  })

  after(async function () {
    await removeDir(dir)
  })

  it(`restores ${FILES} files holding only the file records of the packs in flight`, async function () {
    const opened = await Repository.open(repo.home, PASSPHRASE)
    try {
      const { snapshot } = await opened.findSnapshot('latest')
      const target = join(dir, 'bounded')
      const res = await restore(opened, snapshot.tree, target)
      assert.deepEqual(res.failed, [])
      assert.equal(res.files, FILES + 3)
      assert.ok(res.fileRecordsPeak > 0 && res.fileRecordsPeak <= RECORDS_BOUND, `at most ${RECORDS_BOUND} file records held, counted ${res.fileRecordsPeak}`)
      assert.deepEqual(await fileHashes(join(target, src)), expected, 'every file byte-identical')
      assert.deepEqual(plans(), [], 'the plan is removed')
      await rm(target, { recursive: true, force: true })
    } finally {
      await opened.close()
    }
  })

  it('a second restore into a folder where one is running is refused (exit 11) and touches nothing; the first finishes byte-identical', async function () {
    const target = join(dir, 'twice')
    // slow enough (9 MiB of large files at 1 MiB/s) that the second, a whole CLI start on a busy machine, meets it still writing
    const first = spawn(BIN, ['restore', 'latest', '--path', part(), '--target', target, '--limit-download', '1MiB', '--json'], { env: { ...process.env, HOLDFAST_HOME: repo.home, HOLDFAST_PASSPHRASE: PASSPHRASE }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    first.stdout.on('data', (b: Buffer) => { out += b.toString() })
    const firstExit = new Promise<number | null>(resolve => first.on('exit', code => resolve(code)))
    // the first is writing: a large file under its temporary name
    const deadline = Date.now() + 60_000
    while ((await readdir(part(target)).catch(() => [] as string[])).every(n => !n.startsWith('.hf-')) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    const temps = await leftoverTempFiles(target)
    assert.ok(temps.length > 0, 'the first restore is writing')
    const second = await hf(repo.home, ['restore', 'latest', '--path', part(), '--target', target])
    expectCode(second, 11, 'a second restore into the same folder')
    assert.match(second.stderr, /another restore is writing into .*twice/)
    assert.equal(await firstExit, 0, 'the first restore ends well')
    const res = JSON.parse(out) as { files: number, failed: unknown[] }
    assert.deepEqual(res.failed, [])
    assert.equal(res.files, PART_FILES)
    assert.deepEqual(await fileHashes(part(target)), expectedPart(), 'byte-identical')
    assert.deepEqual(await leftoverTempFiles(target), [])
    assert.deepEqual(plans(), [], 'no plan, no target name left')
    await rm(target, { recursive: true, force: true })
  })

  it('a restore killed with SIGKILL and run again skips the files already complete and finishes', async function () {
    const target = join(dir, 'killed')
    // fetching at 4 MiB/s; killed while a large file is half written (its temporary name beside the final one)
    const child = spawn(BIN, ['restore', 'latest', '--path', part(), '--target', target, '--limit-download', '4MiB'], { env: { ...process.env, HOLDFAST_HOME: repo.home, HOLDFAST_PASSPHRASE: PASSPHRASE }, stdio: 'ignore' })
    let gone = false
    const exited = new Promise<void>(resolve => child.on('exit', () => { gone = true; resolve() }))
    const halfWritten = async (): Promise<boolean> => (await readdir(part(target)).catch(() => [] as string[])).some(n => n.startsWith('.hf-'))
    // the small files come first in d0, the three large ones last
    while (!gone && !await halfWritten()) await new Promise(resolve => setTimeout(resolve, 20))
    child.kill('SIGKILL')
    await exited
    assert.ok(await halfWritten(), 'killed with a large file half written')
    const before = await countFiles(part(target))
    assert.ok(before < PART_FILES, `the restore was cut short (${before} files of ${PART_FILES} in place)`)
    assert.equal(plans().filter(n => !n.endsWith('.target')).length, 1, 'the killed restore left its plan')
    // what is in place under a final name is complete and right
    const present = await fileHashes(part(target))
    const want = expectedPart()
    for (const [path, hash] of present) {
      if (path.split('/').pop()!.startsWith('.hf-')) continue
      assert.equal(hash, want.get(path), `${path} in place after the kill is byte-identical`)
    }

    const again = await hf(repo.home, ['restore', 'latest', '--path', part(), '--target', target, '--json'])
    expectCode(again, 0, 'restore run again')
    const res = parseJson<{ files: number, skipped: number, failed: unknown[], staleTempsRemoved?: number }>(again, 'restore --json')
    assert.ok(res.skipped >= before, `the ${before} files already complete are skipped (skipped ${res.skipped})`)
    assert.ok((res.staleTempsRemoved ?? 0) >= 1, 'the half-written file\'s temporary name is removed')
    assert.equal(res.files + res.skipped, PART_FILES)
    assert.deepEqual(await fileHashes(part(target)), want, 'the part is byte-identical')
    assert.deepEqual(await leftoverTempFiles(target), [], 'no temporary file is left behind')
    assert.deepEqual(plans(), [], 'the killed restore\'s plan is removed by the next')
  })

  it('a restore cut short by packs out of reach completes when they are back, without writing again what it had', async function () {
    const restoreStores = await saveStores(repo, join(dir, 'saved'))
    try {
      // three of the six stores lose the shards of every other data pack d0 needs: those have 3 of 6 shards, fewer than k = 4
      const opened = await Repository.open(repo.home, PASSPHRASE)
      const needed = new Set<string>()
      const { snapshot } = await opened.findSnapshot('latest')
      for await (const e of walkSnapshot(opened, snapshot.tree, part())) {
        if (e.kind === 'file') for (const id of e.node.content ?? []) needed.add(opened.register.blobs.get(id)!.pack)
      }
      const lost: PackDescriptor[] = []
      for (const id of [...needed].sort()) lost.push((await opened.register.packDescriptor(id))!)
      await opened.close()
      for (const p of lost.filter((p, i) => i % 2 === 1)) {
        for (const s of p.shards.slice(0, 3)) await rm(join(s.store.replace(/^dir:/, ''), 'shard', s.name.slice(0, 2), s.name))
      }
      const target = join(dir, 'cut')
      const first = await hf(repo.home, ['restore', 'latest', '--path', part(), '--target', target, '--json'])
      expectCode(first, 3, 'restore with packs out of reach')
      const partial = parseJson<{ files: number, failed: Array<{ error?: string }> }>(first, 'first restore')
      assert.ok(partial.failed.length > 0 && partial.files > 0, `some files restored (${partial.files}), some not (${partial.failed.length})`)
      assert.ok(partial.failed.every(f => f.error === 'PackUnrecoverableError'), 'each failure names the unrecoverable pack')
      assert.deepEqual(await leftoverTempFiles(target), [])

      await restoreStores()
      const second = await hf(repo.home, ['restore', 'latest', '--path', part(), '--target', target, '--json'])
      expectCode(second, 0, 'restore once the shards are back')
      const res = parseJson<{ files: number, skipped: number }>(second, 'second restore')
      assert.equal(res.skipped, partial.files, 'what the first run restored is not written again')
      assert.equal(res.files, partial.failed.length, 'the second run writes exactly what the first could not')
      assert.deepEqual(await fileHashes(part(target)), expectedPart(), 'the part is byte-identical')
    } finally {
      await restoreStores()
    }
  })
})
