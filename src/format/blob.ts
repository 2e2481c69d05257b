import { createCipheriv } from 'node:crypto'
import { freshNonce, NONCE_LENGTH, open, seal, TAG_LENGTH } from '../crypto/aead.js'
import { blobId } from '../crypto/keys.js'
import { zstdCompress, zstdDecompress } from '../compress/zstd.js'
import { IntegrityError, TamperedDataError } from '../errors.js'
import type { BlobType } from './format.js'

/**
 * Blob sealing, in a fixed order: compress (kept only when it saves at least 1/32), prefix a codec byte,
 * encrypt with the blob's type and id as associated data. Opening reverses it and checks the id again
 * against the plaintext, so a blob is verified before any byte of it is used.
 */
const RAW = 0
const ZSTD = 1
const TYPE_CODE: Record<BlobType, number> = { data: 1, tree: 2, index: 3 }

export function blobAad (type: BlobType, id: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(1 + id.length)
  aad[0] = TYPE_CODE[type]
  aad.set(id, 1)
  return aad
}

export function sealBlob (encKey: Uint8Array, type: BlobType, id: Uint8Array, plaintext: Uint8Array, level: number): Buffer {
  let body: Uint8Array = plaintext
  let codec = RAW
  if (plaintext.length >= 64) {
    const compressed = zstdCompress(plaintext, level)
    if (compressed.length < plaintext.length - (plaintext.length >>> 5)) { body = compressed; codec = ZSTD }
  }
  const framed = Buffer.allocUnsafe(body.length + 1)
  framed[0] = codec
  framed.set(body, 1)
  return seal(encKey, framed, blobAad(type, id))
}

/**
 * Seals a blob directly into `target` at `offset` (same bytes as sealBlob) and returns the sealed length;
 * returns -1, writing nothing, when it would not fit. Saves the framing and output copies of sealBlob on
 * the hot path of a backup.
 */
export function sealBlobInto (encKey: Uint8Array, type: BlobType, id: Uint8Array, plaintext: Uint8Array, level: number, target: Buffer, offset: number): number {
  let body: Uint8Array = plaintext
  let codec = RAW
  if (plaintext.length >= 64) {
    const compressed = zstdCompress(plaintext, level)
    if (compressed.length < plaintext.length - (plaintext.length >>> 5)) { body = compressed; codec = ZSTD }
  }
  const length = NONCE_LENGTH + 1 + body.length + TAG_LENGTH
  if (offset + length > target.length) return -1
  const nonce = freshNonce()
  nonce.copy(target, offset)
  const cipher = createCipheriv('aes-256-gcm', encKey, nonce)
  cipher.setAAD(blobAad(type, id))
  let at = offset + NONCE_LENGTH
  at += cipher.update(CODEC_BYTES[codec]).copy(target, at)
  at += cipher.update(body).copy(target, at)
  at += cipher.final().copy(target, at)
  cipher.getAuthTag().copy(target, at)
  return length
}

const CODEC_BYTES = [Uint8Array.of(RAW), Uint8Array.of(ZSTD)]

/** Keys that open blobs: the current epoch's, and the older epochs' (tried in turn; see crypto/keys.ts). */
export interface BlobKeys { encryption: Uint8Array, id: Uint8Array, older?: Array<{ encryption: Uint8Array, id: Uint8Array }> }

/**
 * Opens a sealed blob and checks that its plaintext hashes to its id. A blob that the current keys do
 * not authenticate is tried with each older epoch's keys (written before a `key rotate`); it fails only
 * when none does. The epoch that opened the last blob is tried first (`hint`, kept by the caller).
 */
export function openBlob (keys: BlobKeys, type: BlobType, idHex: string, sealed: Uint8Array, rawLength: number, hint?: { epoch: number }): Buffer {
  const id = Buffer.from(idHex, 'hex')
  const all = keys.older == null || keys.older.length === 0 ? [keys] : [keys, ...keys.older]
  const first = hint != null && hint.epoch < all.length ? hint.epoch : 0
  let framed: Buffer | undefined
  let epoch = first
  let failure: unknown
  for (let t = 0; t < all.length; t++) {
    epoch = (first + t) % all.length
    try {
      framed = open(all[epoch].encryption, sealed, blobAad(type, id), `${type} blob ${idHex.slice(0, 12)}`)
      break
    } catch (err) {
      if (!(err instanceof TamperedDataError)) throw err
      failure ??= err
    }
  }
  if (framed == null) throw failure
  if (hint != null) hint.epoch = epoch
  let plain: Buffer
  if (framed[0] === RAW) plain = framed.subarray(1)
  else if (framed[0] === ZSTD) plain = zstdDecompress(framed.subarray(1))
  else throw new TamperedDataError(`${type} blob ${idHex.slice(0, 12)} has unknown codec ${framed[0]}`)
  if (plain.length !== rawLength || !blobId(all[epoch].id, plain).equals(id)) {
    throw new IntegrityError(`${type} blob ${idHex.slice(0, 12)} does not match its id`)
  }
  return plain
}
