import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import { AbortedError, ConfigError } from '../errors.js'

/**
 * The GUI password as stored (HOME/gui.json): an scrypt hash with its random salt and parameters, so that
 * a later version can raise the cost and still check the hashes written before.
 */
export interface PasswordHash {
  scheme: 'scrypt'
  /** scrypt's cost (a power of two), block size and parallelism */
  N: number
  r: number
  p: number
  /** base64 */
  salt: string
  /** base64, the derived key */
  hash: string
}

/** scrypt at 2^15, 8, 1: 32 MiB and some 50 to 100 ms per check, off the event loop. */
export const SCRYPT_DEFAULTS = Object.freeze({ N: 2 ** 15, r: 8, p: 1 })
const KEY_LENGTH = 32
const SALT_LENGTH = 16
/** The longest password taken (longer is a mistake or an attack on the hash's time). */
export const MAX_PASSWORD_LENGTH = 1024

/** Hashes `password` with a new random salt. */
export async function hashPassword (password: string, params: { N: number, r: number, p: number } = SCRYPT_DEFAULTS, options: { signal?: AbortSignal } = {}): Promise<PasswordHash> {
  const salt = randomBytes(SALT_LENGTH)
  const key = await derive(password, salt, params, options.signal)
  return { scheme: 'scrypt', N: params.N, r: params.r, p: params.p, salt: salt.toString('base64'), hash: key.toString('base64') }
}

/** Whether `password` is the one `stored` was made from (compared in constant time). */
export async function verifyPassword (stored: PasswordHash, password: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false
  const want = Buffer.from(stored.hash, 'base64')
  const got = await derive(password, Buffer.from(stored.salt, 'base64'), stored, options.signal, want.length)
  return got.length === want.length && timingSafeEqual(got, want)
}

/** Reads a stored hash, checking every field and bound (a forged file must not make scrypt run for minutes). */
export function parsePasswordHash (value: unknown, where = 'gui.json: password'): PasswordHash {
  const v = value as Record<string, unknown> | null
  const fail = (what: string): Error => new ConfigError(`${where}${what}`)
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw fail(' must be an object')
  if (v.scheme !== 'scrypt') throw fail(`.scheme must be "scrypt", got ${JSON.stringify(v.scheme)}`)
  const int = (name: string, min: number, max: number): number => {
    const n = v[name]
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw fail(`.${name} must be an integer from ${min} to ${max}`)
    return n
  }
  const N = int('N', 2 ** 10, 2 ** 20)
  if ((N & (N - 1)) !== 0) throw fail('.N must be a power of two')
  const r = int('r', 1, 32)
  const p = int('p', 1, 16)
  const b64 = (name: string, min: number): string => {
    const s = v[name]
    if (typeof s !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(s) || Buffer.from(s, 'base64').length < min) throw fail(`.${name} must be base64 of ${min} bytes or more`)
    return s
  }
  return { scheme: 'scrypt', N, r, p, salt: b64('salt', 8), hash: b64('hash', 16) }
}

async function derive (password: string, salt: Buffer, params: { N: number, r: number, p: number }, signal?: AbortSignal, length = KEY_LENGTH): Promise<Buffer> {
  if (signal?.aborted === true) throw new AbortedError('the password check was cancelled')
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 }
  return await new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) => { if (err != null) reject(err); else resolve(key) })
  })
}
