/**
 * The erasure-codec interface: a pack of `length` bytes becomes k data shards and m parity shards of
 * `shardSize` bytes each; any k of the k+m shards give the pack back. The codec's `name` is recorded in
 * the repository config and in every pack descriptor, because engines with different matrices produce
 * different parity bytes.
 */
export interface CodecOptions {
  signal?: AbortSignal
}

export interface EncodedShards {
  shardSize: number
  /** k + m shards, data shards first. Each is exactly `shardSize` bytes. */
  shards: Uint8Array[]
}

export interface ErasureCodec {
  readonly name: string
  readonly k: number
  readonly m: number
  /** Shard size used for a pack of `length` bytes. */
  shardSizeFor (length: number): number
  encode (data: Uint8Array, options?: CodecOptions): Promise<EncodedShards>
  /**
   * Rebuilds the original `length` bytes from the shards present (null where missing or rejected).
   * Throws PackUnrecoverableError when fewer than k are present.
   */
  decode (shards: Array<Uint8Array | null>, shardSize: number, length: number, options?: CodecOptions): Promise<Uint8Array>
  /** Regenerates every missing shard (for repair); returns all k + m shards. */
  reconstruct (shards: Array<Uint8Array | null>, shardSize: number, options?: CodecOptions): Promise<Uint8Array[]>
}
