import '../src/polyfill.js'
/**
 * Each kernel Holdfast can run, side by side on this machine: the native addons against their JavaScript
 * counterparts (what runs without a C toolchain, or with HOLDFAST_NATIVE=0), and node:crypto's SHA-256 against
 * the addon's own. Throughput is input bytes per second, MB = 10^6; each figure is the median of --rounds runs
 * of --seconds each, on one core.
 *
 *   erasure   encodeInPlace 4+2 of a 16 MiB pack (reused buffers, as in a backup): native (best SIMD backend) / js
 *   merkle    the root of a 4 MiB shard, 1 KiB segments: addon sha-ni / addon portable / node:crypto (merkle.ts)
 *   sha-256   one 4 MiB buffer (pack ids, shard names): node:crypto
 *   zstd      level 1 (compress) and decompress of 1 MiB of text: node:zlib / zstd-napi, where each is there
 *
 * Usage: node dist/scripts/bench-kernels.js [--json] [--seconds N] [--rounds N]
 */
import { createHash } from 'node:crypto'
import { cpus } from 'node:os'
import { nativeMerkle } from '../src/audit/fast-merkle-root.js'
import { merkleRoot, SEGMENT_SIZE } from '../src/audit/merkle.js'
import { loadNapiZstd } from '../src/compress/napi-zstd.js'
import { zlibZstd } from '../src/compress/zlib-zstd.js'
import { CauchyCodec } from '../src/erasure/cauchy-codec.js'
import { native } from '../src/erasure/gf-kernel.js'
import { mulAddJs } from '../src/erasure/gf256.js'
import { measureRate, noiseBytes, textBytes } from '../src/doctor/kernel-samples.js'

const MiB = 1024 * 1024

interface Row { kernel: string, path: string, mbPerSecond: number | null, note?: string }

function option (argv: string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag)
  if (i < 0) return fallback
  const n = Number(argv[i + 1])
  if (!(n > 0)) throw new Error(`${flag} needs a positive number`)
  return n
}

async function main (): Promise<void> {
  const argv = process.argv.slice(2)
  const seconds = option(argv, '--seconds', 1)
  const rounds = option(argv, '--rounds', 3)
  const measure = async (bytes: number, run: () => unknown): Promise<number> => await measureRate(bytes, seconds * 1000, run, rounds)
  const rows: Row[] = []

  // encodeInPlace, as the backup's workers call it: their pack and parity buffers are reused, so the figure is
  // the kernel's, not the page faults of fresh buffers (bench:erasure times codec.encode, which allocates)
  const pack = noiseBytes(16 * MiB)
  const parity = new Uint8Array(2 * new CauchyCodec(4, 2).shardSizeFor(pack.length))
  if (native !== null) {
    const codec = new CauchyCodec(4, 2)
    rows.push({ kernel: 'erasure encode 4+2, 16 MiB', path: `native/${native.backend()}`, mbPerSecond: await measure(pack.length, () => codec.encodeInPlace(pack, pack.length, parity)) })
  } else rows.push({ kernel: 'erasure encode 4+2, 16 MiB', path: 'native', mbPerSecond: null, note: 'addon not loaded' })
  const jsCodec = new CauchyCodec(4, 2, mulAddJs)
  rows.push({ kernel: 'erasure encode 4+2, 16 MiB', path: 'js', mbPerSecond: await measure(pack.length, () => jsCodec.encodeInPlace(pack, pack.length, parity)) })

  const shard = pack.subarray(0, 4 * MiB)
  for (const backend of ['sha-ni', 'portable']) {
    if (nativeMerkle === undefined) { rows.push({ kernel: 'merkle root, 4 MiB shard', path: backend, mbPerSecond: null, note: 'addon not loaded' }); continue }
    const original = nativeMerkle.backend()
    try {
      nativeMerkle.setBackend(backend)
      rows.push({ kernel: 'merkle root, 4 MiB shard', path: `addon ${backend}`, mbPerSecond: await measure(shard.length, () => nativeMerkle!.merkleRoot(shard, SEGMENT_SIZE)) })
    } catch {
      rows.push({ kernel: 'merkle root, 4 MiB shard', path: `addon ${backend}`, mbPerSecond: null, note: 'not supported by this CPU' })
    } finally {
      nativeMerkle.setBackend(original)
    }
  }
  rows.push({ kernel: 'merkle root, 4 MiB shard', path: 'javascript (node:crypto)', mbPerSecond: await measure(shard.length, () => merkleRoot(shard, SEGMENT_SIZE)) })
  rows.push({ kernel: 'sha-256 of 4 MiB', path: 'node:crypto', mbPerSecond: await measure(shard.length, () => createHash('sha256').update(shard).digest()) })

  const chunk = textBytes(MiB)
  for (const [library, codec] of [['node:zlib', zlibZstd()], ['zstd-napi', loadNapiZstd().codec]] as const) {
    if (codec === null) {
      rows.push({ kernel: 'zstd compress level 1, 1 MiB text', path: library, mbPerSecond: null, note: 'not available here' })
      continue
    }
    const frame = codec.compress(chunk, 1)
    rows.push({ kernel: 'zstd compress level 1, 1 MiB text', path: library, mbPerSecond: await measure(chunk.length, () => codec.compress(chunk, 1)) })
    rows.push({ kernel: 'zstd decompress, 1 MiB text', path: library, mbPerSecond: await measure(chunk.length, () => codec.decompress(frame)) })
  }

  if (argv.includes('--json')) {
    console.log(JSON.stringify({ cpu: cpus()[0]?.model, node: process.version, seconds, rounds, rows }, null, 2))
    return
  }
  console.log(`CPU ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}; MB/s (10^6 bytes), median of ${rounds} x ${seconds} s`)
  const table = [['kernel', 'path', 'MB/s'], ...rows.map(r => [r.kernel, r.path, r.mbPerSecond === null ? `- (${r.note ?? ''})` : String(r.mbPerSecond)])]
  const widths = table[0].map((_, col) => Math.max(...table.map(row => row[col].length)))
  for (const row of table) console.log(row.map((cell, col) => col === 2 ? cell.padStart(widths[col]) : cell.padEnd(widths[col])).join('  '))
}

try {
  await main()
} catch (err) {
  console.error(`bench-kernels: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 2
}
