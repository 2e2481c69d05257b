import { ZstdUnavailableError } from '../errors.js'
import { loadNapiZstd } from './napi-zstd.js'
import type { ZstdCodec } from './zstd-codec.js'
import { zlibZstd } from './zlib-zstd.js'

/**
 * zstd for blobs and records: node:zlib's where Node has it (>= 22.15 / 23.8), else the optional zstd-napi
 * addon (Node 20, which needs a C toolchain at install). Both write standard frames and read each other's
 * (test/unit/zstd.test.ts); the level means the same in both. With neither, compressing and decompressing
 * throw ZstdUnavailableError.
 */
export interface ZstdChoice {
  codec: ZstdCodec | null
  /** Why there is no codec (zstd-napi's load error); null when there is one. */
  error: unknown
}

/** node:zlib's zstd when there is one (zstd-napi is then not loaded at all), else zstd-napi's. */
export function chooseZstd (zlib: ZstdCodec | null, loadNapi: () => ZstdChoice): ZstdChoice {
  return zlib !== null ? { codec: zlib, error: null } : loadNapi()
}

/** The chosen codec, or ZstdUnavailableError saying what would give one. */
export function codecOf (choice: ZstdChoice): ZstdCodec {
  if (choice.codec !== null) return choice.codec
  throw new ZstdUnavailableError(`zstd is not available: Node ${process.version} has no zstd in node:zlib (install Node >= 22.15), ` +
    'and the optional zstd-napi addon is not installed (it is built at npm install, with a C toolchain: python3, make, g++)',
  { cause: choice.error })
}

const chosen = chooseZstd(zlibZstd(), loadNapiZstd)

/** The library in use, or null when there is none (zstdCompress and zstdDecompress then throw). */
export const zstdLibrary: ZstdCodec['library'] | null = chosen.codec?.library ?? null

/**
 * Level 1 for new repositories: on the benchmark corpus it compresses 1.6x faster than level 3 for 2.4%
 * more bytes (the level is recorded in each repository's config; any level reads back the same).
 */
export const ZSTD_DEFAULT_LEVEL = 1

export function zstdCompress (data: Uint8Array, level = ZSTD_DEFAULT_LEVEL): Buffer {
  return codecOf(chosen).compress(data, level)
}

export function zstdDecompress (data: Uint8Array): Buffer {
  return codecOf(chosen).decompress(data)
}
