import { fastMerkleRoot, merkleBackend, nativeMerkleLoadError } from '../audit/fast-merkle-root.js'
import { SEGMENT_SIZE } from '../audit/merkle.js'
import { ZSTD_DEFAULT_LEVEL, zstdCompress, zstdLibrary } from '../compress/zstd.js'
import { CauchyCodec } from '../erasure/cauchy-codec.js'
import { kernelDescription, nativeDisabled, nativeLoadError } from '../erasure/gf-kernel.js'
import { measureRate, noiseBytes, textBytes } from './kernel-samples.js'

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

function firstLine (err: unknown): string | null {
  if (err == null) return null
  const message = err instanceof Error ? err.message : String(err)
  return message.split('\n')[0]
}

export async function measureKernels (options: MeasureOptions = {}): Promise<KernelReport> {
  // as the backup's workers do: the pack in a buffer they keep, the parity into another
  const codec = new CauchyCodec(4, 2)
  const pack = noiseBytes(16 * MiB)
  const parity = new Uint8Array(2 * codec.shardSizeFor(pack.length))
  const erasureRate = await measureRate(pack.length, options.erasureMs ?? 300, () => codec.encodeInPlace(pack, pack.length, parity))
  const shard = pack.subarray(0, 4 * MiB)
  const merkleRate = await measureRate(shard.length, options.merkleMs ?? 150, () => fastMerkleRoot(shard, SEGMENT_SIZE))
  let zstdRate: number | null = null
  let zstdError: string | null = null
  const chunk = textBytes(MiB)
  try {
    zstdRate = await measureRate(chunk.length, options.zstdMs ?? 150, () => zstdCompress(chunk, ZSTD_DEFAULT_LEVEL))
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
