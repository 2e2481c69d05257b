import { open, seal } from '../crypto/aead.js'
import { zstdCompress, zstdDecompress } from '../compress/zstd.js'
import { TamperedDataError, TooLargeError } from '../errors.js'

/**
 * Records are the small objects replicated to every store: the repository config, index records,
 * snapshots, placement, forget and lock records. Each is JSON sealed under its key with its kind as
 * associated data, and named by the SHA-256 of its sealed bytes like every other object. JSON of more
 * than 4 KiB (index records) is zstd-compressed before it is sealed: the plaintext then starts with
 * zstd's magic number, which JSON never does, so both forms are read.
 */
export type RecordKind = 'config' | 'index' | 'snapshot' | 'placement' | 'forget' | 'lock'
export const MAX_RECORD_SIZE = 16 * 1024 * 1024
const COMPRESS_ABOVE = 4096
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]

export function sealRecord (encKey: Uint8Array, kind: RecordKind, value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value))
  const plain = json.length > COMPRESS_ABOVE ? zstdCompress(json, 3) : json
  return seal(encKey, plain, Buffer.from(`holdfast ${kind} record v1`))
}

/** Opens a record with its key, or with the first of several keys that authenticates it (older key epochs). */
export function openRecord<T> (encKey: Uint8Array | readonly Uint8Array[], kind: RecordKind, sealed: Uint8Array): T {
  if (sealed.length > MAX_RECORD_SIZE) throw new TooLargeError(`${kind} record larger than ${MAX_RECORD_SIZE} bytes`)
  const keys = encKey instanceof Uint8Array ? [encKey] : encKey
  const aad = Buffer.from(`holdfast ${kind} record v1`)
  let plain: Buffer | undefined
  let failure: unknown
  for (const key of keys) {
    try { plain = open(key, sealed, aad, `${kind} record`); break } catch (err) {
      if (!(err instanceof TamperedDataError)) throw err
      failure ??= err
    }
  }
  if (plain == null) throw failure
  // authenticated first: only a holder of the key can have compressed what is decompressed here
  const json = ZSTD_MAGIC.every((b, i) => plain[i] === b) ? zstdDecompress(plain) : plain
  return JSON.parse(json.toString('utf8')) as T
}
