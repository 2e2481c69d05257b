import { open, seal } from '../crypto/aead.js'
import { TooLargeError } from '../errors.js'

/**
 * Records are the small objects replicated to every store: the repository config, index records,
 * snapshots, placement, forget and lock records. Each is JSON sealed under the repository key with its kind as associated data, and named
 * by the SHA-256 of its sealed bytes like every other object.
 */
export type RecordKind = 'config' | 'index' | 'snapshot' | 'placement' | 'forget' | 'lock'
export const MAX_RECORD_SIZE = 16 * 1024 * 1024

export function sealRecord (encKey: Uint8Array, kind: RecordKind, value: unknown): Buffer {
  return seal(encKey, Buffer.from(JSON.stringify(value)), Buffer.from(`holdfast ${kind} record v1`))
}

export function openRecord<T> (encKey: Uint8Array, kind: RecordKind, sealed: Uint8Array): T {
  if (sealed.length > MAX_RECORD_SIZE) throw new TooLargeError(`${kind} record larger than ${MAX_RECORD_SIZE} bytes`)
  return JSON.parse(open(encKey, sealed, Buffer.from(`holdfast ${kind} record v1`), `${kind} record`).toString('utf8')) as T
}
