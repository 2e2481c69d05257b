/**
 * The keyed gear table of the content-defined chunker.
 *
 * The chunker's rolling hash adds one table entry per input byte, so the table decides where chunk
 * boundaries fall. A public table would let anyone who sees chunk sizes (an untrusted store or peer
 * sees pack sizes) test guesses about the content; deriving the table from a secret per-repository
 * key keeps boundaries from revealing content.
 *
 * Derivation (part of the deduplication format, do not change without a format version bump):
 *   block_b = HMAC-SHA-256(key, "holdfast/chunker-gear/v1" || byte(b))   for b = 0 .. 31
 *   gear[8b + j] = uint32 little-endian at offset 4j of block_b            for j = 0 .. 7
 * The label keeps the table apart from anything else the same key might be used for, although callers
 * should hand in a key derived for the chunker alone.
 */
import { createHmac } from 'node:crypto'
import { ConfigError } from '../errors.js'

/** Length in bytes of the key `gearTable` takes. */
export const GEAR_KEY_SIZE = 32

const GEAR_LABEL = 'holdfast/chunker-gear/v1'

/** The 256-entry gear table for a 32-byte chunker key. Deterministic: same key, same table. */
export function gearTable (key: Uint8Array): Uint32Array {
  if (!(key instanceof Uint8Array) || key.length !== GEAR_KEY_SIZE) {
    throw new ConfigError(`chunker key must be ${GEAR_KEY_SIZE} bytes`)
  }
  const table = new Uint32Array(256)
  const label = Buffer.from(GEAR_LABEL, 'utf8')
  for (let block = 0; block < 32; block++) {
    const mac = createHmac('sha256', key).update(label).update(Uint8Array.of(block)).digest()
    for (let j = 0; j < 8; j++) table[block * 8 + j] = mac.readUInt32LE(j * 4)
  }
  return table
}
