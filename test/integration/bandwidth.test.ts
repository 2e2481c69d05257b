/**
 * Rate limits through the CLI: a backup with --limit-upload and a restore with --limit-download move
 * their shards at the limit (after the limiter's burst), within 5% under and 25% over (the command's own start and finish).
 */
import assert from 'node:assert/strict'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { expectCode, fileHashes, hf, initRepo, makeTempDir, parseJson, removeDir, TestRepo, writeRandom } from './helpers.js'

const MiB = 1024 * 1024

/**
 * A limiter never lets more through than its rate (the lower bound is tight); the upper bound only says the
 * limit is not far slower than asked: a run beside other load on 2 cores measured up to 1.29x.
 */
const MAX_SLOWER = 1.5

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

  it('--limit-upload 4MiB: the shards go at 4 MiB/s after the burst', async function () {
    const r = await hf(repo.home, ['backup', '--json', '--limit-upload', '4MiB', src])
    expectCode(r, 0, 'backup')
    const s = parseJson<{ bytesStored: number, durationMs: number }>(r, 'backup')
    assert.ok(s.bytesStored >= 24 * MiB, `stored ${s.bytesStored}`)
    // the limiter's burst (a quarter second's worth, 1 MiB) goes at once; the rest at the rate
    const expectedMs = (s.bytesStored - MiB) / (4 * MiB) * 1000
    const ratio = s.durationMs / expectedMs
    assert.ok(ratio >= 0.95 && ratio <= MAX_SLOWER, `upload of ${s.bytesStored} bytes in ${s.durationMs} ms for a 4 MiB/s limit with a 1 MiB burst (${(s.bytesStored / MiB / (s.durationMs / 1000)).toFixed(2)} MiB/s overall, ${expectedMs.toFixed(0)} ms expected)`)
  })

  it('--limit-download 8MiB: a restore fetches at 8 MiB/s after its burst, and restores byte-identical', async function () {
    const target = join(dir, 'restored')
    const r = await hf(repo.home, ['restore', '--json', 'latest', '--target', target, '--limit-download', '8MiB'])
    expectCode(r, 0, 'restore')
    const s = parseJson<{ bytes: number, durationMs: number }>(r, 'restore')
    // a restore fetches k shards of each pack: about the data's size (16 MiB). The limiter lets its burst
    // (a quarter second's worth, 2 MiB) go at once, so the rest takes (bytes - burst) / rate.
    const burst = 2 * MiB
    const expectedMs = (s.bytes - burst) / (8 * MiB) * 1000
    const ratio = s.durationMs / expectedMs
    assert.ok(ratio >= 0.95 && ratio <= MAX_SLOWER, `download of ${s.bytes} bytes in ${s.durationMs} ms for an 8 MiB/s limit with a 2 MiB burst (${(s.bytes / MiB / (s.durationMs / 1000)).toFixed(2)} MiB/s overall, ${expectedMs.toFixed(0)} ms expected)`)
    assert.deepEqual(await fileHashes(join(target, src)), await fileHashes(src))
  })

  it('a bad limit is a usage error', async function () {
    const r = await hf(repo.home, ['backup', '--limit-upload', 'fast', src])
    expectCode(r, 2, 'bad limit')
    assert.match(r.stderr, /--limit-upload must be bytes per second/)
  })
})
