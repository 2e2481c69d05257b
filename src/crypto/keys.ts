import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { open, seal } from './aead.js'
import { deriveKey, KdfParams, newKdfParams, validateKdfParams } from './kdf.js'
import { UnsupportedFormatError, UsageError, WrongPassphraseError, TamperedDataError } from '../errors.js'

/**
 * The repository's keys. Random 32-byte master secrets, one per key epoch (the first made with the
 * repository, one more at each `key rotate`), are wrapped together by each of the repository's
 * passphrases (its keys: each with a label and a creation date). Every working key is derived from a
 * master secret with HKDF-SHA-256 under its own label, so no key serves two purposes. Data is written
 * under the newest epoch's keys; what older epochs wrote stays readable with theirs.
 */
export interface DataKeys {
  /** AES-256-GCM key for blobs, pack headers and records. */
  encryption: Buffer
  /** HMAC-SHA-256 key for blob ids: ids reveal nothing about content to anyone without the key. */
  id: Buffer
  /** Key of the chunker's gear table: chunk boundaries reveal nothing either. */
  chunker: Buffer
}

export interface RepositoryKeys extends DataKeys {
  /** The data keys of the epochs before the current one, newest first: they open what those wrote. */
  older?: DataKeys[]
}

/** One key of the repository: a passphrase's wrapping of the master secrets. */
export interface KeyEntry {
  /** 16 hex digits, random */
  id: string
  label: string
  created: string
  kdf: KdfParams
  /** base64 of seal(passphraseKey, the master secrets oldest first, KEY_AAD) */
  wrapped: string
  /** a version-1 key file's wrapping: one master secret, sealed with LEGACY_AAD */
  legacy?: true
}

/** The key file (key.json in the home, copies on the owner's own stores): every key of the repository. */
export interface KeyFile {
  version: 2
  /** raised at every change: of two copies, the higher generation is the newer */
  generation: number
  keys: KeyEntry[]
}

/** What a passphrase opens: the key it matched, the master secrets (oldest first) and the working keys. */
export interface OpenedKeys {
  entry: KeyEntry
  secrets: Buffer[]
  keys: RepositoryKeys
}

const LEGACY_AAD = Buffer.from('holdfast key v1')
const KEY_AAD = Buffer.from('holdfast key v2')
const SECRET = 32
export const MAX_KEYS = 32
export const MAX_EPOCHS = 64
export const MAX_KEY_LABEL = 100
/** Largest key file read. */
export const MAX_KEY_FILE_BYTES = 64 * 1024

export function deriveRepositoryKeys (master: Uint8Array): DataKeys {
  const derive = (label: string): Buffer => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `holdfast/v1/${label}`, 32))
  return { encryption: derive('encryption'), id: derive('blob-id'), chunker: derive('chunker') }
}

/** The working keys of a list of master secrets (oldest first): the newest writes, all read. */
export function keysFromSecrets (secrets: readonly Uint8Array[]): RepositoryKeys {
  if (secrets.length === 0) throw new UnsupportedFormatError('no master secret')
  const [current, ...older] = [...secrets].reverse().map(deriveRepositoryKeys)
  return older.length > 0 ? { ...current, older } : current
}

/** The data keys to try when opening, newest first. */
export function dataKeysOf (keys: RepositoryKeys): DataKeys[] {
  return [keys, ...(keys.older ?? [])]
}

/** A key derived from the first master secret for one purpose beside the data (the recovery kit's seal). */
export function purposeKey (secrets: readonly Uint8Array[], purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secrets[0], Buffer.alloc(0), `holdfast/v1/${purpose}`, 32))
}

function newKeyId (): string {
  return randomBytes(8).toString('hex')
}

function checkLabel (label: string): string {
  const l = label.trim()
  if (l === '' || l.length > MAX_KEY_LABEL || /[\u0000-\u001f\u007f]/.test(l)) throw new UsageError(`a key label is 1 to ${MAX_KEY_LABEL} printable characters, got ${JSON.stringify(label.slice(0, 120))}`)
  return l
}

async function wrap (passphrase: string, secrets: readonly Uint8Array[], label: string, kdfMemory?: number): Promise<KeyEntry> {
  const kdf = newKdfParams(kdfMemory)
  const wrapKey = await deriveKey(passphrase, kdf)
  return { id: newKeyId(), label: checkLabel(label), created: new Date().toISOString(), kdf, wrapped: seal(wrapKey, Buffer.concat(secrets), KEY_AAD).toString('base64') }
}

export async function createKeyFile (passphrase: string, master = randomBytes(SECRET), kdfMemory?: number, label = 'initial'): Promise<{ keyFile: KeyFile, keys: RepositoryKeys }> {
  const entry = await wrap(passphrase, [master], label, kdfMemory)
  return { keyFile: { version: 2, generation: 1, keys: [entry] }, keys: keysFromSecrets([master]) }
}

export function serializeKeyFile (keyFile: KeyFile): Buffer {
  return Buffer.from(JSON.stringify(keyFile, null, 2) + '\n')
}

/** Reads a key file: version 2, or a version-1 file (one key) seen as a version-2 file of one legacy key. */
export function parseKeyFile (bytes: Uint8Array): KeyFile {
  if (bytes.length > MAX_KEY_FILE_BYTES) throw new UnsupportedFormatError(`a key file is at most ${MAX_KEY_FILE_BYTES} bytes`)
  let kf: Record<string, unknown>
  try { kf = JSON.parse(Buffer.from(bytes).toString('utf8')) } catch (err) { throw new UnsupportedFormatError('key file is not valid JSON', { cause: err }) }
  if (kf?.version === 1) {
    validateKdfParams(kf.kdf as KdfParams)
    if (typeof kf.wrapped !== 'string') throw new UnsupportedFormatError('key file has no wrapped key')
    const id = createHash('sha256').update(kf.wrapped).digest('hex').slice(0, 16)
    return { version: 2, generation: 0, keys: [{ id, label: 'initial', created: typeof kf.created === 'string' ? kf.created : '', kdf: kf.kdf as KdfParams, wrapped: kf.wrapped, legacy: true }] }
  }
  if (kf?.version !== 2) throw new UnsupportedFormatError(`key file version ${String(kf?.version)} is not supported`)
  if (!Number.isSafeInteger(kf.generation) || (kf.generation as number) < 0) throw new UnsupportedFormatError('key file generation is malformed')
  if (!Array.isArray(kf.keys) || kf.keys.length === 0 || kf.keys.length > MAX_KEYS) throw new UnsupportedFormatError(`a key file holds 1 to ${MAX_KEYS} keys`)
  const ids = new Set<string>()
  for (const k of kf.keys as KeyEntry[]) {
    if (typeof k?.id !== 'string' || !/^[0-9a-f]{16}$/.test(k.id) || ids.has(k.id)) throw new UnsupportedFormatError('a key of the key file has no valid id')
    ids.add(k.id)
    if (typeof k.label !== 'string' || k.label.length > MAX_KEY_LABEL || typeof k.created !== 'string' || typeof k.wrapped !== 'string' || k.wrapped.length > 4 * (MAX_EPOCHS * SECRET + 64)) throw new UnsupportedFormatError(`key ${k.id} of the key file is malformed`)
    if (k.legacy != null && k.legacy !== true) throw new UnsupportedFormatError(`key ${k.id} of the key file is malformed`)
    validateKdfParams(k.kdf)
  }
  return { version: 2, generation: kf.generation as number, keys: kf.keys as KeyEntry[] }
}

/** Opens one key with its passphrase: its master secrets, or undefined when the passphrase is not its. */
async function unwrap (entry: KeyEntry, passphrase: string): Promise<Buffer[] | undefined> {
  const wrapKey = await deriveKey(passphrase, entry.kdf)
  let plain: Buffer
  try {
    plain = open(wrapKey, Buffer.from(entry.wrapped, 'base64'), entry.legacy === true ? LEGACY_AAD : KEY_AAD, 'key')
  } catch (err) {
    if (err instanceof TamperedDataError) return undefined
    throw err
  }
  if (plain.length === 0 || plain.length % SECRET !== 0 || (entry.legacy === true && plain.length !== SECRET)) throw new UnsupportedFormatError(`key ${entry.id} wraps ${plain.length} bytes, not master secrets`)
  return Array.from({ length: plain.length / SECRET }, (_, i) => plain.subarray(i * SECRET, (i + 1) * SECRET))
}

/**
 * Opens the key file with a passphrase: each key is tried (one key derivation each), the key that was
 * used last first when `prefer` names it. WrongPassphraseError when no key is this passphrase's.
 */
export async function openKeyFile (keyFile: KeyFile, passphrase: string, prefer?: string): Promise<OpenedKeys> {
  const order = [...keyFile.keys].sort((a, b) => (a.id === prefer ? -1 : 0) - (b.id === prefer ? -1 : 0))
  for (const entry of order) {
    const secrets = await unwrap(entry, passphrase)
    if (secrets != null) return { entry, secrets, keys: keysFromSecrets(secrets) }
  }
  throw new WrongPassphraseError(keyFile.keys.length === 1 ? 'wrong passphrase: it does not open the repository key' : `wrong passphrase: it opens none of the repository's ${keyFile.keys.length} keys`)
}

export async function unlockKeyFile (keyFile: KeyFile, passphrase: string): Promise<RepositoryKeys> {
  return (await openKeyFile(keyFile, passphrase)).keys
}

/** The key file with one more key: `passphrase` wrapping the master secrets that an existing key opened. */
export async function addKey (keyFile: KeyFile, secrets: readonly Uint8Array[], passphrase: string, label: string, kdfMemory?: number): Promise<{ keyFile: KeyFile, entry: KeyEntry }> {
  if (keyFile.keys.length >= MAX_KEYS) throw new UsageError(`a repository has at most ${MAX_KEYS} keys: remove one first`)
  const entry = await wrap(passphrase, secrets, label, kdfMemory)
  return { keyFile: { version: 2, generation: keyFile.generation + 1, keys: [...keyFile.keys, entry] }, entry }
}

/** The key file without one key; never without its last. */
export function removeKey (keyFile: KeyFile, id: string): KeyFile {
  const keys = keyFile.keys.filter(k => k.id !== id)
  if (keys.length === keyFile.keys.length) throw new UsageError(`no key ${id}: see holdfast key list`)
  if (keys.length === 0) throw new UsageError('the repository\'s last key cannot be removed: nothing would open it')
  return { version: 2, generation: keyFile.generation + 1, keys }
}

/**
 * A new key epoch: a fresh master secret for everything written from now on, the older ones kept for
 * what they wrote. The key file then holds one key, `passphrase`'s, wrapping them all (with a fresh salt):
 * a key that a leaked passphrase opens is gone with the old wrapping. Refused while the key file holds
 * other keys (they would not open the new epoch): remove them first and add them again after.
 */
export async function rotateKeys (keyFile: KeyFile, opened: OpenedKeys, passphrase: string, kdfMemory?: number): Promise<{ keyFile: KeyFile, keys: RepositoryKeys, secrets: Buffer[] }> {
  const others = keyFile.keys.filter(k => k.id !== opened.entry.id)
  if (others.length > 0) throw new UsageError(`key rotate leaves one key, the passphrase given; ${others.length} other key(s) would not open what is written after it (${others.map(k => `${k.id} "${k.label}"`).join(', ')}): remove them first (holdfast key remove ID), add them again after`)
  if (opened.secrets.length >= MAX_EPOCHS) throw new UsageError(`a repository has at most ${MAX_EPOCHS} key epochs`)
  const secrets = [...opened.secrets, randomBytes(SECRET)]
  const entry = await wrap(passphrase, secrets, opened.entry.label, kdfMemory)
  return { keyFile: { version: 2, generation: keyFile.generation + 1, keys: [{ ...entry, id: opened.entry.id }] }, keys: keysFromSecrets(secrets), secrets }
}

/** Keyed hash of a blob's plaintext: its id. */
export function blobId (idKey: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', idKey).update(data).digest()
}
