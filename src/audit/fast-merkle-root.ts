import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { merkleRoot } from './merkle.js'
import { nativeDisabled as disabledByEnv } from '../util/native-disabled.js'

/**
 * Merkle roots of whole shards, by the fastest path this machine has; every path gives the same roots
 * (test/unit/merkle.test.ts):
 * - `sha-ni`: the native addon (build/Release/holdfast_merkle.node, built at install from
 *   src/audit/native/merkle-root.c) with the CPU's SHA extensions: one call per shard instead of one hash
 *   call per node, which in JavaScript costs more than hashing the 1 KiB segment itself;
 * - `javascript`: merkle.ts, one node:crypto call per node. OpenSSL hashes with SHA-NI, AVX2 or the
 *   ARMv8 instructions, so this beats the addon's portable C SHA-256 despite the calls (npm run
 *   bench:kernels, 4 MiB shards: portable C 280 MB/s, this 300 MB/s with OpenSSL kept off SHA-NI and
 *   510 MB/s with it; the addon with SHA-NI 1520 MB/s). It is also what runs when the addon is not built
 *   or HOLDFAST_NATIVE=0.
 */
interface NativeMerkle {
  merkleRoot: (data: Uint8Array, segmentSize: number) => Buffer
  /** `sha-ni` or `portable` */
  backend: () => string
  setBackend: (name: string) => void
  trimMemory: () => void
}

function load (): { addon: NativeMerkle | null, error: unknown } {
  if (disabledByEnv()) return { addon: null, error: null }
  try {
    const root = fileURLToPath(new URL('../../../', import.meta.url)) // dist/src/audit -> package root
    return { addon: createRequire(import.meta.url)(`${root}build/Release/holdfast_merkle.node`) as NativeMerkle, error: null }
  } catch (err) {
    return { addon: null, error: err }
  }
}

const loaded = load()

/** The native addon, or undefined when it is not built or HOLDFAST_NATIVE=0 (see nativeMerkleLoadError). */
export const nativeMerkle: NativeMerkle | undefined = loaded.addon ?? undefined
/** Why the addon did not load, for diagnostics; null when it did or was not asked to (HOLDFAST_NATIVE=0). */
export const nativeMerkleLoadError: unknown = loaded.error

const useNative = nativeMerkle?.backend() === 'sha-ni'

/** The path fastMerkleRoot takes: `sha-ni` (the addon) or `javascript` (node:crypto). */
export const merkleBackend: 'sha-ni' | 'javascript' = useNative ? 'sha-ni' : 'javascript'

export function fastMerkleRoot (data: Uint8Array, segmentSize: number): Uint8Array {
  return useNative ? nativeMerkle!.merkleRoot(data, segmentSize) : merkleRoot(data, segmentSize)
}

/** Returns memory the C allocator holds after free() to the system (glibc); see merkle-root.c. */
export function trimMemory (): void {
  nativeMerkle?.trimMemory()
}
