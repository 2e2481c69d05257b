/**
 * Compression: this folder's one job is zstd for blobs and records, on whichever library this Node has
 * (zstd.ts chooses: node:zlib, else the optional zstd-napi addon); both read what the other wrote.
 */
export { ZSTD_DEFAULT_LEVEL, zstdCompress, zstdDecompress, zstdLibrary } from './zstd.js'
export type { ZstdCodec } from './zstd-codec.js'
