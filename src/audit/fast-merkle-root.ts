import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { merkleRoot } from './merkle.js'

/**
 * Merkle roots of whole shards through the native addon (build/Release/holdfast_merkle.node, built by
 * npm install from src/audit/native/merkle-root.c): one call per shard instead of one hash call per node,
 * which in JavaScript costs more than hashing the 1 KiB segment itself. Falls back to merkle.ts when the
 * addon is not built; both give the same roots (test/unit/merkle.test.ts).
 */
interface NativeMerkle {
  merkleRoot: (data: Uint8Array, segmentSize: number) => Buffer
  backend: () => string
  setBackend: (name: string) => void
  trimMemory: () => void
}

function load (): NativeMerkle | undefined {
  try {
    const root = fileURLToPath(new URL('../../../', import.meta.url)) // dist/src/audit -> package root
    return createRequire(import.meta.url)(`${root}build/Release/holdfast_merkle.node`) as NativeMerkle
  } catch {
    return undefined
  }
}

export const nativeMerkle: NativeMerkle | undefined = load()

/** `sha-ni`, `portable` (native) or `javascript`. */
export const merkleBackend: string = nativeMerkle?.backend() ?? 'javascript'

export function fastMerkleRoot (data: Uint8Array, segmentSize: number): Uint8Array {
  return nativeMerkle != null ? nativeMerkle.merkleRoot(data, segmentSize) : merkleRoot(data, segmentSize)
}

/** Returns memory the C allocator holds after free() to the system (glibc); see merkle-root.c. */
export function trimMemory (): void {
  nativeMerkle?.trimMemory()
}
