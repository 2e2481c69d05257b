import { randomBytes, scrypt } from 'node:crypto'
import { ConfigError } from '../errors.js'

/**
 * Passphrase key derivation with scrypt (memory-hard). The parameters are stored beside the wrapped key
 * so that later versions can raise them; bounds are enforced on read so that a tampered key file can
 * neither weaken the derivation below the floor nor make us allocate unbounded memory.
 */
export interface KdfParams {
  algorithm: 'scrypt'
  /** CPU/memory cost, a power of two. Memory used is 128 * N * r bytes. */
  N: number
  r: number
  p: number
  /** base64, 16 bytes or more */
  salt: string
}

/** 2^17 * 8 * 128 = 128 MiB and about 0.3 s on the development machine. */
export const DEFAULT_KDF = { algorithm: 'scrypt' as const, N: 1 << 17, r: 8, p: 1 }
export const MIN_KDF_N = 1 << 14
export const MAX_KDF_MEMORY = 1024 * 1024 * 1024

/** The memory the default derivation takes (128 MiB). */
export const DEFAULT_KDF_MEMORY = 128 * DEFAULT_KDF.N * DEFAULT_KDF.r

/**
 * New parameters with a fresh salt. `memory` (bytes; default 128 MiB) sets N at r = 8: a power of two
 * from 16 MiB to 1 GiB. Less memory makes each guess at the passphrase cheaper for an attacker who has
 * the key file: 16 MiB is an eighth of the default's cost, for machines that must keep every MiB.
 */
export function newKdfParams (memory = DEFAULT_KDF_MEMORY): KdfParams {
  const N = memory / (128 * DEFAULT_KDF.r)
  const isPow2 = Number.isInteger(N) && N > 1 && (N & (N - 1)) === 0
  if (!isPow2 || N < MIN_KDF_N || memory > MAX_KDF_MEMORY) throw new ConfigError(`the key derivation's memory must be a power of two from ${128 * MIN_KDF_N * DEFAULT_KDF.r / 1048576} MiB to ${MAX_KDF_MEMORY / 1048576} MiB`)
  return { ...DEFAULT_KDF, N, salt: randomBytes(32).toString('base64') }
}

export function validateKdfParams (p: KdfParams): void {
  if (p == null || p.algorithm !== 'scrypt') throw new ConfigError(`unsupported key derivation: ${String(p?.algorithm)}`)
  const isPow2 = Number.isInteger(p.N) && p.N > 1 && (p.N & (p.N - 1)) === 0
  if (!isPow2 || p.N < MIN_KDF_N) throw new ConfigError(`scrypt N must be a power of two >= ${MIN_KDF_N}, got ${p.N}`)
  if (!Number.isInteger(p.r) || p.r < 1 || p.r > 32) throw new ConfigError(`scrypt r out of range: ${p.r}`)
  if (!Number.isInteger(p.p) || p.p < 1 || p.p > 16) throw new ConfigError(`scrypt p out of range: ${p.p}`)
  if (128 * p.N * p.r > MAX_KDF_MEMORY) throw new ConfigError('scrypt parameters ask for more than 1 GiB of memory')
  if (typeof p.salt !== 'string' || Buffer.from(p.salt, 'base64').length < 16) throw new ConfigError('scrypt salt is missing or shorter than 16 bytes')
}

export async function deriveKey (passphrase: string, params: KdfParams): Promise<Buffer> {
  validateKdfParams(params)
  const salt = Buffer.from(params.salt, 'base64')
  return await new Promise((resolve, reject) => {
    scrypt(passphrase.normalize('NFC'), salt, 32, { N: params.N, r: params.r, p: params.p, maxmem: 128 * params.N * params.r + 1024 * 1024 },
      (err, key) => { if (err != null) reject(err); else resolve(key) })
  })
}
