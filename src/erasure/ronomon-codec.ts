/**
 * Reed-Solomon codec on @ronomon/reed-solomon, a C addon whose work runs in the libuv thread pool, so
 * coding a large pack never blocks the event loop. The addon wants the k data shards contiguous in one
 * buffer and the m parity shards contiguous in another; this class copies into those two buffers and hands
 * out per-shard views of them.
 */
import { createRequire } from 'node:module'
import type { CodecOptions, EncodedShards, ErasureCodec } from './codec.js'
import { AbortedError, ConfigError, IntegrityError, PackUnrecoverableError, TooLargeError } from '../errors.js'

interface ReedSolomonAddon {
  readonly MAX_K: number
  readonly MAX_M: number
  create: (k: number, m: number) => Buffer
  encode: (context: Buffer, sources: number, targets: number,
    buffer: Buffer, bufferOffset: number, bufferSize: number,
    parity: Buffer, parityOffset: number, paritySize: number,
    callback: (error?: Error | null) => void) => void
}

// The addon is CommonJS with a .node entry point, which an ES module cannot import.
const engine = createRequire(import.meta.url)('@ronomon/reed-solomon') as ReedSolomonAddon

/**
 * Recorded in the repository config and every pack descriptor. The engine picks its Galois field (w = 2, 4
 * or 8) and matrix per (k, m), so its parity bytes are its own: a different engine needs a different name.
 */
export const RONOMON_CODEC_NAME = 'rs-gf256-ronomon-1'

/** The engine requires shard sizes in multiples of 8 bytes. */
const ALIGN = 8
/** The engine takes buffer sizes as uint32. */
const MAX_BUFFER = 0xffffffff

export class RonomonCodec implements ErasureCodec {
  readonly name = RONOMON_CODEC_NAME
  readonly k: number
  readonly m: number
  /** The encoding matrix; the addon allows one context to serve concurrent calls. */
  private readonly context: Buffer

  constructor (k: number, m: number) {
    if (!Number.isInteger(k) || k < 1 || k > engine.MAX_K) {
      throw new ConfigError(`erasure k (data shards) must be an integer from 1 to ${engine.MAX_K}, got ${k}`)
    }
    if (!Number.isInteger(m) || m < 1 || m > engine.MAX_M) {
      throw new ConfigError(`erasure m (parity shards) must be an integer from 1 to ${engine.MAX_M}, got ${m}`)
    }
    this.k = k
    this.m = m
    this.context = engine.create(k, m)
  }

  shardSizeFor (length: number): number {
    return Math.max(ALIGN, Math.ceil(length / this.k / ALIGN) * ALIGN)
  }

  async encode (data: Uint8Array, options?: CodecOptions): Promise<EncodedShards> {
    throwIfAborted(options)
    const { k, m } = this
    const shardSize = this.shardSizeFor(data.length)
    if (k * shardSize > MAX_BUFFER) {
      throw new TooLargeError(`a pack of ${data.length} bytes is too large to erasure-code with k=${k}`)
    }
    // Unpooled so that a shard's underlying ArrayBuffer holds only this pack; only the padding needs zeroing.
    const dataBuffer = Buffer.allocUnsafeSlow(k * shardSize)
    dataBuffer.set(data)
    dataBuffer.fill(0, data.length)
    const parity = Buffer.allocUnsafeSlow(m * shardSize)
    await this.run(bitRange(0, k), bitRange(k, k + m), dataBuffer, parity)
    return { shardSize, shards: this.views(dataBuffer, parity, shardSize) }
  }

  async decode (shards: Array<Uint8Array | null>, shardSize: number, length: number, options?: CodecOptions): Promise<Uint8Array> {
    throwIfAborted(options)
    const sources = this.check(shards, shardSize)
    if (!Number.isInteger(length) || length < 0 || length > this.k * shardSize) {
      throw new RangeError(`pack length ${length} does not fit in ${this.k} shards of ${shardSize} bytes`)
    }
    const missingData = bitRange(0, this.k) & ~sources
    if (missingData === 0) {
      // The common case: the data shards are the pack, so no coding is needed.
      const out = Buffer.allocUnsafeSlow(length)
      for (let i = 0, offset = 0; offset < length; i++, offset += shardSize) {
        out.set((shards[i] as Uint8Array).subarray(0, length - offset), offset)
      }
      return out
    }
    const { data, parity } = this.gather(shards, shardSize)
    await this.run(sources, missingData, data, parity)
    return data.subarray(0, length)
  }

  async reconstruct (shards: Array<Uint8Array | null>, shardSize: number, options?: CodecOptions): Promise<Uint8Array[]> {
    throwIfAborted(options)
    const sources = this.check(shards, shardSize)
    const missing = bitRange(0, this.k + this.m) & ~sources
    if (missing === 0) return shards.slice() as Uint8Array[]
    const { data, parity } = this.gather(shards, shardSize)
    await this.run(sources, missing, data, parity)
    return this.views(data, parity, shardSize)
  }

  /** Validates the shards and returns the bit set of those present. */
  private check (shards: Array<Uint8Array | null>, shardSize: number): number {
    const { k, m } = this
    if (shards.length !== k + m) throw new RangeError(`expected ${k + m} shard slots, got ${shards.length}`)
    if (!Number.isInteger(shardSize) || shardSize < ALIGN || shardSize % ALIGN !== 0 || k * shardSize > MAX_BUFFER) {
      throw new RangeError(`invalid shard size ${shardSize}`)
    }
    let present = 0
    let count = 0
    shards.forEach((shard, i) => {
      if (shard == null) return
      if (shard.length !== shardSize) {
        throw new IntegrityError(`shard ${i} is ${shard.length} bytes, expected ${shardSize}`)
      }
      present |= 1 << i
      count++
    })
    if (count < k) throw new PackUnrecoverableError(`need ${k} shards, have ${count}`)
    return present
  }

  /** Copies the present shards into the two contiguous buffers the engine works on. */
  private gather (shards: Array<Uint8Array | null>, shardSize: number): { data: Buffer, parity: Buffer } {
    // Every slot is either copied here or written by the engine (all missing shards are targets or, in
    // decode, never read back), so no zeroing is needed.
    const data = Buffer.allocUnsafeSlow(this.k * shardSize)
    const parity = Buffer.allocUnsafeSlow(this.m * shardSize)
    shards.forEach((shard, i) => {
      if (shard == null) return
      if (i < this.k) data.set(shard, i * shardSize)
      else parity.set(shard, (i - this.k) * shardSize)
    })
    return { data, parity }
  }

  private views (data: Buffer, parity: Buffer, shardSize: number): Uint8Array[] {
    const shards: Uint8Array[] = []
    for (let i = 0; i < this.k; i++) shards.push(data.subarray(i * shardSize, (i + 1) * shardSize))
    for (let i = 0; i < this.m; i++) shards.push(parity.subarray(i * shardSize, (i + 1) * shardSize))
    return shards
  }

  /**
   * Computes `targets` from `sources` (bit i = shard i). Every present shard is passed as a source, not
   * just k of them: the engine rewrites every shard that is not a source, so naming extra sources saves it
   * from rebuilding parity nobody asked for. It reads only k of them either way.
   */
  private async run (sources: number, targets: number, data: Buffer, parity: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      engine.encode(this.context, sources, targets, data, 0, data.length, parity, 0, parity.length,
        (error) => { if (error != null) reject(error); else resolve() })
    })
  }
}

/** Bits from..to-1 set. k + m is at most 30, so this stays within a positive int32. */
function bitRange (from: number, to: number): number {
  return ((1 << to) - 1) & ~((1 << from) - 1)
}

function throwIfAborted (options?: CodecOptions): void {
  if (options?.signal?.aborted === true) throw new AbortedError('erasure coding was cancelled')
}
