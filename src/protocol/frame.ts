import { decode, encode } from 'cborg'
import { MAX_CONTROL_FRAME } from './constants.js'
import { ProtocolError, TooLargeError } from '../errors.js'

/**
 * A control frame: an unsigned LEB128 varint holding the body's length, then the body, one CBOR item.
 * Bodies decode strictly (canonical integers, no duplicate keys, no indefinite lengths, no undefined, NaN,
 * Infinity, big integers or tags) into Maps, so a key such as `__proto__` is just a key; the validators in
 * messages.ts then refuse non-string keys and anything else out of place.
 */

/** An unsigned LEB128 varint. */
export function encodeVarint (value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a varint: ${value}`)
  const out: number[] = []
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
  return Uint8Array.from(out)
}

/** Bytes a varint up to `max` may take: longer length prefixes are refused before their value is known. */
export function varintLength (max: number): number {
  return encodeVarint(max).length
}

/** Encodes a message as one frame; a body larger than `max` is a TooLargeError (a bug on this side). */
export function encodeFrame (message: unknown, max = MAX_CONTROL_FRAME): Uint8Array {
  const body = encode(message)
  if (body.length > max) throw new TooLargeError(`message of ${body.length} bytes exceeds the frame limit of ${max}`)
  const prefix = encodeVarint(body.length)
  const frame = new Uint8Array(prefix.length + body.length)
  frame.set(prefix, 0)
  frame.set(body, prefix.length)
  return frame
}

const DECODE_OPTIONS = {
  strict: true,
  useMaps: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false
}

/** Decodes a frame's body; anything cborg refuses, or trailing bytes, is a ProtocolError. */
export function decodeBody (body: Uint8Array): unknown {
  try {
    return decode(body, DECODE_OPTIONS)
  } catch (err) {
    throw new ProtocolError(`malformed message: ${(err as Error).message}`, { cause: err })
  }
}
