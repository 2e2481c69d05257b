import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto'
import { TamperedDataError } from '../errors.js'

/**
 * Authenticated encryption: AES-256-GCM with a random 96-bit nonce.
 * Sealed layout: nonce (12) || ciphertext || tag (16). `aad` binds the ciphertext to its context
 * (object kind, blob id), so a store cannot swap one sealed object for another.
 */
export const NONCE_LENGTH = 12
export const TAG_LENGTH = 16
export const SEAL_OVERHEAD = NONCE_LENGTH + TAG_LENGTH

/**
 * Random 96-bit nonces, drawn from the system's CSPRNG 4096 at a time: the same nonces as one call per
 * blob (each is used once and never handed out twice), for a fraction of the calls on the hot path.
 */
const NONCE_POOL = Buffer.allocUnsafeSlow(NONCE_LENGTH * 4096)
let noncesLeft = 0

export function freshNonce (): Buffer {
  if (noncesLeft === 0) { randomFillSync(NONCE_POOL); noncesLeft = 4096 }
  noncesLeft--
  // a copy, so that a caller keeping the nonce never sees the pool refilled under it
  return Buffer.from(NONCE_POOL.subarray(noncesLeft * NONCE_LENGTH, (noncesLeft + 1) * NONCE_LENGTH))
}

export function seal (key: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Buffer {
  const nonce = freshNonce()
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  if (aad != null) cipher.setAAD(aad)
  const out = Buffer.allocUnsafe(plaintext.length + SEAL_OVERHEAD)
  nonce.copy(out, 0)
  const n1 = cipher.update(plaintext).copy(out, NONCE_LENGTH)
  const n2 = cipher.final().copy(out, NONCE_LENGTH + n1)
  cipher.getAuthTag().copy(out, NONCE_LENGTH + n1 + n2)
  return out
}

export function open (key: Uint8Array, sealed: Uint8Array, aad?: Uint8Array, what = 'object'): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new TamperedDataError(`${what} is too short to be sealed data`)
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, NONCE_LENGTH))
  decipher.setAuthTag(buf.subarray(buf.length - TAG_LENGTH))
  if (aad != null) decipher.setAAD(aad)
  try {
    const head = decipher.update(buf.subarray(NONCE_LENGTH, buf.length - TAG_LENGTH))
    const tail = decipher.final()
    return tail.length === 0 ? head : Buffer.concat([head, tail])
  } catch (err) {
    throw new TamperedDataError(`${what} failed authentication: it was altered or sealed with another key`, { cause: err })
  }
}
