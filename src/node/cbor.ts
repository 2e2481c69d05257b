import { decode, encode } from 'cborg'
import type { AbortOptions } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import { ProtocolError } from '../errors.js'

/**
 * CBOR as Holdfast puts it on the wire: canonical on encode, strict on decode (no duplicate map keys,
 * no undefined, no indefinite lengths, no big integers). Decoding untrusted bytes throws on anything
 * else; the caller then validates the shape.
 */
export function encodeCbor (value: unknown): Uint8Array {
  return encode(value)
}

export function decodeCbor (bytes: Uint8Array): unknown {
  return decode(bytes, { strict: true, rejectDuplicateMapKeys: true, allowUndefined: false, allowIndefinite: false, allowBigInt: false })
}

/** Writes one CBOR message on a length-prefixed stream; ProtocolError (nothing sent) when it is over `max` bytes. */
export async function writeCborMessage (lp: LengthPrefixedStream, message: unknown, max: number, protocol: string, options: AbortOptions): Promise<void> {
  const bytes = encodeCbor(message)
  if (bytes.length > max) throw new ProtocolError(`${protocol}: a message of ${bytes.length} bytes is over the bound`)
  await lp.write(bytes, options)
}

/** Reads one CBOR message from a length-prefixed stream (whose maxDataLength bounds it), decoded strictly. */
export async function readCborMessage (lp: LengthPrefixedStream, options: AbortOptions): Promise<unknown> {
  return decodeCbor((await lp.read(options)).subarray())
}
