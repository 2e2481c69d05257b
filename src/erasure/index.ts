/**
 * Erasure coding: this folder's one job is turning a pack into k data + m parity shards and back again,
 * so that any k of the k + m shards recover the pack. The codec is chosen by the name recorded in the
 * repository config and pack descriptors.
 */
import type { ErasureCodec } from './codec.js'
import { CAUCHY_CODEC_NAME, CauchyCodec } from './cauchy-codec.js'
import { UnsupportedFormatError } from '../errors.js'

export type { CodecOptions, EncodedShards, ErasureCodec } from './codec.js'
export { CAUCHY_CODEC_NAME, CauchyCodec, SHARD_ALIGN } from './cauchy-codec.js'
export { kernelDescription, kernelName } from './gf-kernel.js'

/** The codec a stored name refers to; an unknown name means a format this version cannot read. */
export function createCodec (name: string, k: number, m: number): ErasureCodec {
  if (name === CAUCHY_CODEC_NAME) return new CauchyCodec(k, m)
  throw new UnsupportedFormatError(`unknown erasure codec '${name}'`)
}
