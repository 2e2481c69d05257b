/**
 * Rate limits through the CLI: a backup with --limit-upload and a restore with --limit-download move
 * their shards at the limit, within 10%.
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { expectCode, fileHashes, hf, initRepo, makeTempDir, parseJson, removeDir, TestRepo, writeRandom } from './helpers.js'

const MiB = 1024 * 1024

describe('rate limits (integration)', function () {
  this.timeout(120_000)
  let dir: string
  let repo: TestRepo
  let src: string

  before(async function () {
    dir = await makeTempDir('bandwidth')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1, packSize: '1MiB' })
    src = join(dir, 'src')
    await mkdir(src)
    for (let i = 0; i < 4; i++) await writeRandom(join(src, `f${i}.bin`), 4 * MiB)
  })

  after(async function () {
    await removeDir(dir)
  })

  it('--limit-upload 4MiB: the shards go at 4 MiB/s, within 10%', async function () {
    const r = await hf(repo.home, ['backup', '--json', '--limit-upload', '4MiB', src])
    expectCode(r, 0, 'backup')
    const s = parseJson<{ bytesStored: number, durationMs: number }>(r, 'backup')
    assert.ok(s.bytesStored >= 24 * MiB, `stored ${s.bytesStored}`)
    const rate = s.bytesStored / (s.durationMs / 1000)
    assert.ok(Math.abs(rate / (4 * MiB) - 1) <= 0.1, `upload at ${(rate / MiB).toFixed(2)} MiB/s for a 4 MiB/s limit (${s.bytesStored} bytes in ${s.durationMs} ms)`)
  })

  it('--limit-download 8MiB: a restore fetches at 8 MiB/s, within 10%, and restores byte-identical', async function () {
    const target = join(dir, 'restored')
    const r = await hf(repo.home, ['restore', '--json', 'latest', '--target', target, '--limit-download', '8MiB'])
    expectCode(r, 0, 'restore')
    const s = parseJson<{ bytes: number, durationMs: number }>(r, 'restore')
    // a restore fetches k shards of each pack: about the data's size (16 MiB)
    const rate = s.bytes / (s.durationMs / 1000)
    assert.ok(Math.abs(rate / (8 * MiB) - 1) <= 0.1, `download at ${(rate / MiB).toFixed(2)} MiB/s for an 8 MiB/s limit (${s.bytes} bytes in ${s.durationMs} ms)`)
    assert.deepEqual(await fileHashes(join(target, src)), await fileHashes(src))
  })

  it('a bad limit is a usage error', async function () {
    const r = await hf(repo.home, ['backup', '--limit-upload', 'fast', src])
    expectCode(r, 2, 'bad limit')
    assert.match(r.stderr, /--limit-upload must be bytes per second/)
  })
})
