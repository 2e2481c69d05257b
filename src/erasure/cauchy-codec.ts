/**
 * Systematic Reed-Solomon over GF(2^8) (polynomial 0x11d) with a Cauchy generator: the k data shards are
 * the pack itself, cut into k equal slices and zero-padded; parity shard i is
 * XOR over j of cauchy[i][j] * data shard j, with cauchy[i][j] = 1 / ((k + i) XOR j) (see gf256.ts).
 * Every k x k submatrix of the generator is invertible, so any k shards give the pack back.
 *
 * The byte-crunching is one kernel call (gf-kernel.ts: the native SIMD addon, or the portable JS
 * fallback), run synchronously: the promise-returning interface is kept for callers, which run large
 * packs on worker threads where the event loop matters.
 */
import { constants as bufferConstants } from 'node:buffer'
import type { CodecOptions, EncodedShards, ErasureCodec } from './codec.js'
import { mulAdd, MulAdd } from './gf-kernel.js'
import { cauchyMatrix, invertMatrix, mul } from './gf256.js'
import { AbortedError, ConfigError, IntegrityError, PackUnrecoverableError, TooLargeError } from '../errors.js'

/**
 * Recorded in the repository config and every pack descriptor. It names the exact parity bytes: field
 * polynomial, Cauchy points, padding and shard-size rule. Any change to those needs a new name.
 */
export const CAUCHY_CODEC_NAME = 'rs-cauchy-gf256-1'

/** Shard sizes are multiples of this (a cache line and an AVX-512 vector), and at least this. */
export const SHARD_ALIGN = 64

export class CauchyCodec implements ErasureCodec {
  readonly name = CAUCHY_CODEC_NAME
  readonly k: number
  readonly m: number
  /** The m x k parity rows of the generator (the rows above them are the identity). */
  private readonly parityRows: Uint8Array
  private readonly kernel: MulAdd

  /** `kernel` is for tests and benchmarks (e.g. mulAddJs); every kernel gives the same bytes. */
  constructor (k: number, m: number, kernel: MulAdd = mulAdd) {
    if (!Number.isInteger(k) || k < 1 || k > 255) {
      throw new ConfigError(`erasure k (data shards) must be an integer from 1 to 255, got ${k}`)
    }
    if (!Number.isInteger(m) || m < 1 || m > 255) {
      throw new ConfigError(`erasure m (parity shards) must be an integer from 1 to 255, got ${m}`)
    }
    if (k + m > 256) throw new ConfigError(`erasure k + m must be at most 256, got ${k} + ${m}`)
    this.k = k
    this.m = m
    this.parityRows = cauchyMatrix(k, m)
    this.kernel = kernel
  }

  shardSizeFor (length: number): number {
    const perShard = Math.ceil(length / this.k)
    return Math.max(SHARD_ALIGN, Math.ceil(perShard / SHARD_ALIGN) * SHARD_ALIGN)
  }

  async encode (data: Uint8Array, options?: CodecOptions): Promise<EncodedShards> {
    throwIfAborted(options)
    const { k, m } = this
    const shardSize = this.shardSizeFor(data.length)
    if (k * shardSize > bufferConstants.MAX_LENGTH || m * shardSize > bufferConstants.MAX_LENGTH) {
      throw new TooLargeError(`a pack of ${data.length} bytes is too large to erasure-code with k=${k}`)
    }
    // Unpooled, so that the shards' ArrayBuffers hold only this pack; only the padding needs zeroing.
    const dataBuffer = Buffer.allocUnsafeSlow(k * shardSize)
    const parityBuffer = Buffer.allocUnsafeSlow(m * shardSize)
    const dataShards = slices(dataBuffer, k, shardSize)
    const parityShards = slices(parityBuffer, m, shardSize)
    // The shards the pack fills completely are read straight from `data` and copied into place by the
    // kernel in the same pass (one read of the pack instead of two); the rest (the shard the pack ends in,
    // and shards of padding only) are filled here and read from the copy.
    const full = Math.floor(data.length / shardSize)
    dataBuffer.set(data.subarray(full * shardSize), full * shardSize)
    dataBuffer.fill(0, data.length)
    const sources = dataShards.map((shard, j) => j < full ? data.subarray(j * shardSize, (j + 1) * shardSize) : shard)
    this.kernel(this.parityRows, m, k, sources, parityShards, shardSize, dataShards.slice(0, full))
    return { shardSize, shards: [...dataShards, ...parityShards] }
  }

  /**
   * Encodes a pack that already sits at the start of `data` (which holds at least k * shardSizeFor(length)
   * bytes) into `parity` (at least m * shardSize bytes), without copying it: zeroes the padding, computes
   * the parity, returns views of both buffers as the k + m shards. For callers that reuse their buffers.
   */
  encodeInPlace (data: Uint8Array, length: number, parity: Uint8Array): EncodedShards {
    const { k, m } = this
    const shardSize = this.shardSizeFor(length)
    if (data.length < k * shardSize || parity.length < m * shardSize) throw new RangeError(`buffers too small for a pack of ${length} bytes`)
    data.fill(0, length, k * shardSize)
    const dataShards = slices(data, k, shardSize)
    const parityShards = slices(parity, m, shardSize)
    this.kernel(this.parityRows, m, k, dataShards, parityShards, shardSize)
    return { shardSize, shards: [...dataShards, ...parityShards] }
  }

  async decode (shards: Array<Uint8Array | null>, shardSize: number, length: number, options?: CodecOptions): Promise<Uint8Array> {
    throwIfAborted(options)
    const { k } = this
    const present = this.check(shards, shardSize)
    if (!Number.isInteger(length) || length < 0 || length > k * shardSize) {
      throw new RangeError(`pack length ${length} does not fit in ${k} shards of ${shardSize} bytes`)
    }
    const out = Buffer.allocUnsafeSlow(length)
    // Data shards that hold pack bytes (the rest are padding) and are missing: only these need coding.
    const wanted: number[] = []
    for (let j = 0; j * shardSize < length; j++) if (shards[j] == null) wanted.push(j)
    const copyShard = (j: number): void => {
      out.set((shards[j] as Uint8Array).subarray(0, Math.min(shardSize, length - j * shardSize)), j * shardSize)
    }
    if (wanted.length === 0) {
      // The common case: the data shards are the pack, so no coding is needed.
      for (let j = 0; j * shardSize < length; j++) copyShard(j)
      return out
    }

    // Every present data shard is among the k sources, first. The kernel copies those that lie wholly
    // within the pack into place as it reads them; the one the pack ends in is copied here.
    const sources = present.slice(0, k)
    const copies: Uint8Array[] = []
    for (const j of sources) {
      if (j >= k || (j + 1) * shardSize > length) break
      copies.push(out.subarray(j * shardSize, (j + 1) * shardSize))
    }
    for (const j of sources.slice(copies.length)) if (j < k && j * shardSize < length) copyShard(j)
    const inverse = invertMatrix(this.generatorRows(sources), k)
    const coeffs = new Uint8Array(wanted.length * k)
    wanted.forEach((j, r) => coeffs.set(inverse.subarray(j * k, (j + 1) * k), r * k))
    // Only the last of them can be cut short by the end of the pack: it is rebuilt whole into scratch
    // space, and its head copied.
    const outputs = wanted.map((j) => (j + 1) * shardSize <= length
      ? out.subarray(j * shardSize, (j + 1) * shardSize)
      : Buffer.allocUnsafe(shardSize))
    this.kernel(coeffs, wanted.length, k, sources.map((i) => shards[i] as Uint8Array), outputs, shardSize, copies)
    const last = wanted[wanted.length - 1]
    if ((last + 1) * shardSize > length) {
      out.set(outputs[wanted.length - 1].subarray(0, length - last * shardSize), last * shardSize)
    }
    return out
  }

  async reconstruct (shards: Array<Uint8Array | null>, shardSize: number, options?: CodecOptions): Promise<Uint8Array[]> {
    throwIfAborted(options)
    const { k, m } = this
    const present = this.check(shards, shardSize)
    const missing: number[] = []
    for (let i = 0; i < k + m; i++) if (shards[i] == null) missing.push(i)
    if (missing.length === 0) return shards.slice() as Uint8Array[]

    // Every missing shard is a fixed combination of the k sources: its generator row times the inverse
    // of the sources' rows (the identity when the sources are the data shards). One kernel pass then
    // rebuilds missing data and parity together, giving exactly the bytes encode gave.
    const sources = present.slice(0, k)
    const allData = sources[k - 1] === k - 1
    const inverse = allData ? null : invertMatrix(this.generatorRows(sources), k)
    const coeffs = new Uint8Array(missing.length * k)
    missing.forEach((i, r) => {
      const row = coeffs.subarray(r * k, (r + 1) * k)
      if (inverse === null) row.set(this.parityRows.subarray((i - k) * k, (i - k + 1) * k))
      else if (i < k) row.set(inverse.subarray(i * k, (i + 1) * k))
      else this.combine(i - k, inverse, row)
    })
    const rebuilt = slices(Buffer.allocUnsafeSlow(missing.length * shardSize), missing.length, shardSize)
    this.kernel(coeffs, missing.length, k, sources.map((i) => shards[i] as Uint8Array), rebuilt, shardSize)
    const result = shards.slice() as Uint8Array[]
    missing.forEach((i, r) => { result[i] = rebuilt[r] })
    return result
  }

  /** The k x k matrix of the generator rows of `indices` (identity rows for data, Cauchy rows for parity). */
  private generatorRows (indices: number[]): Uint8Array {
    const { k } = this
    const out = new Uint8Array(k * k)
    indices.forEach((index, r) => {
      if (index < k) out[r * k + index] = 1
      else out.set(this.parityRows.subarray((index - k) * k, (index - k + 1) * k), r * k)
    })
    return out
  }

  /** out = parity row p times `inverse` (k x k). */
  private combine (p: number, inverse: Uint8Array, out: Uint8Array): void {
    const { k } = this
    for (let j = 0; j < k; j++) {
      let sum = 0
      for (let t = 0; t < k; t++) sum ^= mul(this.parityRows[p * k + t], inverse[t * k + j])
      out[j] = sum
    }
  }

  /** Validates the shard slots; returns the indices of those present, data shards first (ascending). */
  private check (shards: Array<Uint8Array | null>, shardSize: number): number[] {
    const { k, m } = this
    if (!Array.isArray(shards) || shards.length !== k + m) {
      throw new RangeError(`expected ${k + m} shard slots, got ${Array.isArray(shards) ? shards.length : typeof shards}`)
    }
    if (!Number.isInteger(shardSize) || shardSize < SHARD_ALIGN || shardSize % SHARD_ALIGN !== 0 ||
      shardSize > bufferConstants.MAX_LENGTH) {
      throw new RangeError(`invalid shard size ${shardSize}: must be a positive multiple of ${SHARD_ALIGN}`)
    }
    const present: number[] = []
    shards.forEach((shard, i) => {
      if (shard == null) return
      if (!(shard instanceof Uint8Array)) throw new TypeError(`shard ${i} is not a Uint8Array`)
      if (shard.length !== shardSize) {
        throw new IntegrityError(`shard ${i} is ${shard.length} bytes, expected ${shardSize}`)
      }
      present.push(i)
    })
    if (present.length < k) throw new PackUnrecoverableError(`need ${k} shards, have ${present.length}`)
    return present
  }
}

/** `count` consecutive views of `size` bytes over `buffer`. */
function slices (buffer: Uint8Array, count: number, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) out.push(buffer.subarray(i * size, (i + 1) * size))
  return out
}

function throwIfAborted (options?: CodecOptions): void {
  if (options?.signal?.aborted === true) throw new AbortedError('erasure coding was cancelled')
}
