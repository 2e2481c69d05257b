import * as zlib from 'node:zlib'
import type { ZstdCodec } from './zstd-codec.js'
import { frameContentSize } from './zstd-frame.js'

/** node:zlib's zstd (Node >= 22.15 / 23.8); @types/node 20 does not declare it. */
interface ZlibZstd {
  zstdCompressSync: (data: Uint8Array, options: { params: Record<number, number> }) => Buffer
  zstdDecompressSync: (data: Uint8Array, options?: { chunkSize?: number }) => Buffer
}

/** Output buffers of decompression are sized from the frame header up to this; larger outputs take several. */
const MAX_CHUNK = 64 * 1024 * 1024
/** zlib's smallest chunk size. */
const MIN_CHUNK = 64

/** zstd through node:zlib, or null on a Node whose zlib has no zstd. */
export function zlibZstd (): ZstdCodec | null {
  const z = zlib as unknown as Partial<ZlibZstd>
  const compressSync = z.zstdCompressSync
  const decompressSync = z.zstdDecompressSync
  const levelParam = (zlib.constants as unknown as Record<string, number | undefined>).ZSTD_c_compressionLevel
  if (typeof compressSync !== 'function' || typeof decompressSync !== 'function' || levelParam === undefined) return null
  const options = new Map<number, { params: Record<number, number> }>()
  return {
    library: 'node:zlib',
    compress (data, level) {
      let o = options.get(level)
      if (o === undefined) options.set(level, o = { params: { [levelParam]: level } })
      return compressSync(data, o)
    },
    decompress (data) {
      // One output buffer of the declared size instead of zlib's 16 KiB chunks joined: a quarter faster on 1 MiB.
      const size = frameContentSize(data)
      return size === null ? decompressSync(data) : decompressSync(data, { chunkSize: Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, size)) })
    }
  }
}
