import { fastMerkleRoot, merkleBackend, nativeMerkleLoadError } from '../audit/fast-merkle-root.js'
import { SEGMENT_SIZE } from '../audit/merkle.js'
import { ZSTD_DEFAULT_LEVEL, zstdCompress, zstdLibrary } from '../compress/zstd.js'
import { CauchyCodec } from '../erasure/cauchy-codec.js'
import { kernelDescription, nativeDisabled, nativeLoadError } from '../erasure/gf-kernel.js'

/**
 * Which kernels this process runs and how fast, measured on the spot: erasure coding (the native SIMD
 * addon or JavaScript), Merkle roots (SHA-NI or node:crypto) and zstd (node:zlib or zstd-napi). For
 * `holdfast doctor`; about 0.6 s with the default budgets. Rates are input bytes per second, MB = 10^6.
 */
export interface KernelReport {
  node: string
  platform: string
  arch: string
  /** HOLDFAST_NATIVE=0 is set: the addons are not loaded. */
  nativeDisabled: boolean
  erasure: {
    /** `native/<simd backend>` (scalar, avx2, gfni-avx2, gfni-avx512) or `js` */
    kernel: string
    measured: string
    mbPerSecond: number
    /** Why the addon did not load (null when it did, or with HOLDFAST_NATIVE=0). */
    loadError: string | null
  }
  merkle: {
    /** `sha-ni` (the addon) or `javascript` (node:crypto) */
    kernel: string
    measured: string
    mbPerSecond: number
    loadError: string | null
  }
  zstd: {
    /** `node:zlib`, `zstd-napi`, or null when neither is there (Holdfast cannot compress) */
    library: string | null
    measured: string
    mbPerSecond: number | null
    error: string | null
  }
}

export interface MeasureOptions {
  /** Time spent on each kernel, in ms (at least one run each). Default: 300 erasure, 150 Merkle, 150 zstd. */
  erasureMs?: number
  merkleMs?: number
  zstdMs?: number
}

const MiB = 1024 * 1024

/** Bytes per second of `run`, each call handling `bytes`: one warm-up call, then calls until `ms` have passed. */
async function rate (bytes: number, ms: number, run: () => unknown): Promise<number> {
  await run()
  let calls = 0
  const start = performance.now()
  let elapsed = 0
  do {
    await run()
    calls++
    elapsed = performance.now() - start
  } while (elapsed < ms)
  return Math.round(bytes * calls / elapsed / 1000) // bytes per ms / 1000 = MB/s
}

/** Ciphertext-like bytes (packs are encrypted); the kernels' speed does not depend on the values. */
function noise (length: number): Uint8Array {
  const data = new Uint8Array(length)
  for (let i = 0; i < length; i++) data[i] = Math.imul(i + 1, 2654435761) >>> 24
  return data
}

/** Text-like bytes, about 2:1 compressible, as zstd meets in documents and source trees. */
function text (length: number): Buffer {
  const words = ['backup', 'restore', 'shard', 'peer', 'snapshot', 'pack', ' ', ' ', '\n', 'the', 'of', '42', '{"k": 7}']
  const out = Buffer.alloc(length)
  let x = 12345
  for (let at = 0; at < length;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    at += out.write(words[(x >>> 16) % words.length], at)
  }
  return out
}

function firstLine (err: unknown): string | null {
  if (err == null) return null
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0]
}

export async function measureKernels (options: MeasureOptions = {}): Promise<KernelReport> {
  // as the backup's workers do: the pack in a buffer they keep, the parity into another
  const codec = new CauchyCodec(4, 2)
  const pack = noise(16 * MiB)
  const parity = new Uint8Array(2 * codec.shardSizeFor(pack.length))
  const erasureRate = await rate(pack.length, options.erasureMs ?? 300, () => codec.encodeInPlace(pack, pack.length, parity))
  const shard = pack.subarray(0, 4 * MiB)
  const merkleRate = await rate(shard.length, options.merkleMs ?? 150, () => fastMerkleRoot(shard, SEGMENT_SIZE))
  let zstdRate: number | null = null
  let zstdError: string | null = null
  const chunk = text(MiB)
  try {
    zstdRate = await rate(chunk.length, options.zstdMs ?? 150, () => zstdCompress(chunk, ZSTD_DEFAULT_LEVEL))
  } catch (err) {
    zstdError = firstLine(err)
  }
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    nativeDisabled,
    erasure: { kernel: kernelDescription(), measured: 'encode 4+2, 16 MiB packs', mbPerSecond: erasureRate, loadError: firstLine(nativeLoadError) },
    merkle: { kernel: merkleBackend, measured: 'roots of 4 MiB shards, 1 KiB segments', mbPerSecond: merkleRate, loadError: firstLine(nativeMerkleLoadError) },
    zstd: { library: zstdLibrary, measured: `compress level ${ZSTD_DEFAULT_LEVEL}, 1 MiB of text`, mbPerSecond: zstdRate, error: zstdError }
  }
}
