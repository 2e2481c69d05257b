import { createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { open, seal } from './aead.js'
import { deriveKey, KdfParams, newKdfParams, validateKdfParams } from './kdf.js'
import { UnsupportedFormatError, WrongPassphraseError, TamperedDataError } from '../errors.js'

/**
 * The repository's keys. One random 32-byte master secret is wrapped by the passphrase key; every working
 * key is derived from it with HKDF-SHA-256 under its own label, so no key serves two purposes.
 */
export interface RepositoryKeys {
  /** AES-256-GCM key for blobs, pack headers and records. */
  encryption: Buffer
  /** HMAC-SHA-256 key for blob ids: ids reveal nothing about content to anyone without the key. */
  id: Buffer
  /** Key of the chunker's gear table: chunk boundaries reveal nothing either. */
  chunker: Buffer
}

export interface KeyFile {
  version: 1
  created: string
  kdf: KdfParams
  /** base64 of seal(passphraseKey, masterSecret, aad = KEY_AAD) */
  wrapped: string
}

const KEY_AAD = Buffer.from('holdfast key v1')

export function deriveRepositoryKeys (master: Uint8Array): RepositoryKeys {
  const derive = (label: string): Buffer => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `holdfast/v1/${label}`, 32))
  return { encryption: derive('encryption'), id: derive('blob-id'), chunker: derive('chunker') }
}

export async function createKeyFile (passphrase: string, master = randomBytes(32), kdfMemory?: number): Promise<{ keyFile: KeyFile, keys: RepositoryKeys }> {
  const kdf = newKdfParams(kdfMemory)
  const wrapKey = await deriveKey(passphrase, kdf)
  const keyFile: KeyFile = { version: 1, created: new Date().toISOString(), kdf, wrapped: seal(wrapKey, master, KEY_AAD).toString('base64') }
  return { keyFile, keys: deriveRepositoryKeys(master) }
}

export function parseKeyFile (bytes: Uint8Array): KeyFile {
  let kf: KeyFile
  try { kf = JSON.parse(Buffer.from(bytes).toString('utf8')) } catch (err) { throw new UnsupportedFormatError('key file is not valid JSON', { cause: err }) }
  if (kf?.version !== 1) throw new UnsupportedFormatError(`key file version ${String(kf?.version)} is not supported`)
  validateKdfParams(kf.kdf)
  if (typeof kf.wrapped !== 'string') throw new UnsupportedFormatError('key file has no wrapped key')
  return kf
}

export async function unlockKeyFile (keyFile: KeyFile, passphrase: string): Promise<RepositoryKeys> {
  const wrapKey = await deriveKey(passphrase, keyFile.kdf)
  try {
    const master = open(wrapKey, Buffer.from(keyFile.wrapped, 'base64'), KEY_AAD, 'key')
    return deriveRepositoryKeys(master)
  } catch (err) {
    if (err instanceof TamperedDataError) throw new WrongPassphraseError('wrong passphrase: it does not open the repository key')
    throw err
  }
}

/** Keyed hash of a blob's plaintext: its id. */
export function blobId (idKey: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(data).digest()
}
