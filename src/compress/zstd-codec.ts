/** What either zstd library gives Holdfast: one-shot compression at a level, and decompression of whole frames. */
export interface ZstdCodec {
  /** `node:zlib` (Node >= 22.15 / 23.8) or `zstd-napi` (the optional addon). */
  readonly library: 'node:zlib' | 'zstd-napi'
  /** Standard zstd frames (with the content size), at zstd's compression level `level`. */
  compress: (data: Uint8Array, level: number) => Buffer
  /** The bytes of the frames in `data`; throws on data that is not zstd. */
  decompress: (data: Uint8Array) => Buffer
}
