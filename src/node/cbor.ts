import { decode, encode } from 'cborg'

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
