import { hkdfSync } from 'node:crypto'
import { open, seal } from '../crypto/aead.js'
import { openKitEscrow, sealKitEscrow } from '../crypto/kit-escrow.js'
import { StoreUnavailableError } from '../errors.js'
import { readFile } from 'node:fs/promises'
import { openKeyFile, parseKeyFile, unlockKeyFile, type KeyFile, type RepositoryKeys } from '../crypto/keys.js'
import { homePaths } from '../home/home.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import { listNames } from './record-list.js'
import { hashName } from '../store/hash-name.js'
import type { ShardStore } from '../store/shard-store.js'

/**
 * The key record: the key file sealed under the repository's own keys (AES-256-GCM under HKDF of the first
 * epoch's encryption key), kept on every store like the other records, as a `key` object named by its
 * hash. A peer cannot open it, so it cannot try passphrases against it (the plain key file stays off the
 * peers); whoever holds the repository's keys (a device, a node recovered from an older kit) reads the
 * current keys from it. A store keeps the newest generation only: a change's next seeding puts the new
 * record and deletes the older ones (a removed key is then in no record).
 */
const AAD = Buffer.from('holdfast key record v1')
/** Key objects looked at on one store (plain copies and records together). */
const MAX_KEY_OBJECTS = 64

/** Whether a `key` object is a plain key file (JSON) rather than a key record. */
export function isPlainKeyFile (bytes: Uint8Array): boolean {
  // a sealed object starts with a random nonce: '{' one time in 256, so the JSON itself decides
  if (bytes[0] !== 0x7b) return false
  try {
    const v: unknown = JSON.parse(Buffer.from(bytes).toString('utf8'))
    return typeof v === 'object' && v !== null
  } catch {
    return false
  }
}

export function keyRecordKey (keys: RepositoryKeys): Buffer {
  const first = [keys, ...(keys.older ?? [])].at(-1)!
  return Buffer.from(hkdfSync('sha256', first.encryption, Buffer.alloc(0), 'holdfast/v1/key-record', 32))
}

export function sealKeyRecord (keys: RepositoryKeys, keyFile: Uint8Array): Buffer {
  return seal(keyRecordKey(keys), keyFile, AAD)
}

/** The key file a key record holds; undefined for a `key` object that is not a record of these keys (a plain copy, another repository's). */
export function openKeyRecord (keys: RepositoryKeys, sealed: Uint8Array): { keyFile: KeyFile, bytes: Buffer } | undefined {
  if (isPlainKeyFile(sealed)) return undefined
  try {
    const bytes = open(keyRecordKey(keys), sealed, AAD, 'key record')
    return { keyFile: parseKeyFile(bytes), bytes }
  } catch {
    return undefined
  }
}

/** How one kind of sealed key file is made and read: key records, kit escrows. */
export interface KeyFileSealer {
  seal: (keyFile: Uint8Array) => Buffer
  /** The key file `sealed` holds; undefined when it is not one of this kind under this key. */
  open: (sealed: Uint8Array) => { keyFile: KeyFile, bytes: Buffer } | undefined
}

export const keyRecordSealer = (keys: RepositoryKeys): KeyFileSealer => ({
  seal: keyFile => sealKeyRecord(keys, keyFile),
  open: sealed => openKeyRecord(keys, sealed)
})

/** The kit escrow of a node (crypto/kit-escrow.ts): the key file sealed under its kit secret. */
export const kitEscrowSealer = (kitSecret: Uint8Array): KeyFileSealer => ({
  seal: keyFile => sealKitEscrow(kitSecret, keyFile),
  open: sealed => {
    if (isPlainKeyFile(sealed)) return undefined
    const bytes = openKitEscrow(kitSecret, sealed)
    if (bytes == null) return undefined
    try { return { keyFile: parseKeyFile(bytes), bytes } } catch { return undefined }
  }
})

/**
 * Brings a store's key records to `keyFile` (its bytes, of `generation`): puts a record of it unless one
 * of the same bytes is there, deletes the records of a lower generation. Plain copies and what does not
 * open are left alone.
 */
export async function syncKeyRecord (store: ShardStore, keys: RepositoryKeys, keyFile: Buffer, generation: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  await syncSealedKeyFile(store, keyRecordSealer(keys), keyFile, generation, options)
}

/** The same for any sealer: the store ends with `keyFile` sealed by it, and nothing older it opens. */
export async function syncSealedKeyFile (store: ShardStore, sealer: KeyFileSealer, keyFile: Buffer, generation: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  let present = false
  for (const record of (await listSealed(store, sealer, options)).records) {
    if (record.bytes.equals(keyFile)) {
      // two writers (a backup's seeding, the kit escrow service) may each have put one: one is enough
      if (present) await store.delete('key', record.name, options)
      present = true
    } else if (record.keyFile.generation < generation) await store.delete('key', record.name, options)
  }
  if (!present) {
    const sealed = sealer.seal(keyFile)
    await store.put('key', hashName(sealed), sealed, options)
  }
}

/**
 * The key files a store keeps sealed by `sealer` (bounded like every key listing); StoreUnavailableError
 * when the store could not be listed. Objects that do not hash to their name or do not open are skipped.
 */
export async function readSealedKeyFiles (store: ShardStore, sealer: KeyFileSealer, options: { signal?: AbortSignal } = {}): Promise<Array<{ keyFile: KeyFile, bytes: Buffer }>> {
  const listed = await listSealed(store, sealer, options)
  if (listed.reached === 0 && listed.problems.length > 0) throw new StoreUnavailableError(listed.problems.join('; '))
  return listed.records
}

/** The store's `key` objects that `sealer` opens, by name (in name order), and how the listing went. */
async function listSealed (store: ShardStore, sealer: KeyFileSealer, options: { signal?: AbortSignal }): Promise<{ records: Array<{ name: string, keyFile: KeyFile, bytes: Buffer }>, reached: number, problems: string[] }> {
  const listed = await listNames([store], 'key', { signal: options.signal, maxNames: MAX_KEY_OBJECTS, timeoutMs: 30_000 })
  const records: Array<{ name: string, keyFile: KeyFile, bytes: Buffer }> = []
  for (const name of listed.names) {
    const bytes = await store.get('key', name, options)
    if (hashName(bytes) !== name) continue
    const record = sealer.open(bytes)
    if (record != null) records.push({ name, ...record })
  }
  return { records, reached: listed.reached, problems: listed.problems }
}

/**
 * Takes the newest key file the stores keep as key records, when it is newer than the home's and
 * `passphrase` opens it: a node recovered from a kit made before a `key rotate` (or a device linked before
 * one) then reads what the newer key epochs wrote. Returns what it did: `adopted` (key.json replaced),
 * `stale` (a newer key file exists that this passphrase does not open: data of later epochs stays
 * unreadable here), or `current`.
 */
export async function adoptNewerKeyFile (home: string, stores: ShardStore[], passphrase: string, options: { signal?: AbortSignal, unlock?: (kf: KeyFile, passphrase: string) => Promise<RepositoryKeys> } = {}): Promise<{ outcome: 'adopted' | 'stale' | 'current', generation: number }> {
  const path = homePaths(home).key
  const mine = parseKeyFile(await readFile(path))
  const keys = await (options.unlock ?? unlockKeyFile)(mine, passphrase)
  let best: { keyFile: KeyFile, bytes: Buffer } | undefined
  const sealer = keyRecordSealer(keys)
  for (const store of stores) {
    try {
      for (const record of await readSealedKeyFiles(store, sealer, options)) {
        if (record.keyFile.generation > (best?.keyFile.generation ?? mine.generation)) best = record
      }
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      // a store that cannot be read now: the others may have the record
    }
  }
  if (best == null) return { outcome: 'current', generation: mine.generation }
  try {
    await openKeyFile(best.keyFile, passphrase)
  } catch (err) {
    if ((err as Error).name !== 'WrongPassphraseError') throw err
    return { outcome: 'stale', generation: best.keyFile.generation }
  }
  // sealed under this repository's keys (only their holder could have made it) and opened by the passphrase
  await writeFileAtomic(path, best.bytes)
  return { outcome: 'adopted', generation: best.keyFile.generation }
}
