import { hkdfSync } from 'node:crypto'
import { open, seal } from '../crypto/aead.js'
import { parseKeyFile, type KeyFile, type RepositoryKeys } from '../crypto/keys.js'
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

export function keyRecordKey (keys: RepositoryKeys): Buffer {
  const first = [keys, ...(keys.older ?? [])].at(-1)!
  return Buffer.from(hkdfSync('sha256', first.encryption, Buffer.alloc(0), 'holdfast/v1/key-record', 32))
}

export function sealKeyRecord (keys: RepositoryKeys, keyFile: Uint8Array): Buffer {
  return seal(keyRecordKey(keys), keyFile, AAD)
}

/** The key file a key record holds; undefined for a `key` object that is not a record of these keys (a plain copy, another repository's). */
export function openKeyRecord (keys: RepositoryKeys, sealed: Uint8Array): { keyFile: KeyFile, bytes: Buffer } | undefined {
  if (sealed[0] === 0x7b) return undefined // '{': a plain key file
  try {
    const bytes = open(keyRecordKey(keys), sealed, AAD, 'key record')
    return { keyFile: parseKeyFile(bytes), bytes }
  } catch {
    return undefined
  }
}

/**
 * Brings a store's key records to `keyFile` (its bytes, of `generation`): puts a record of it unless one
 * of the same bytes is there, deletes the records of a lower generation. Plain copies and what does not
 * open are left alone.
 */
export async function syncKeyRecord (store: ShardStore, keys: RepositoryKeys, keyFile: Buffer, generation: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const names: string[] = []
  for await (const name of store.list('key', options)) { names.push(name); if (names.length >= MAX_KEY_OBJECTS) break }
  let present = false
  for (const name of names) {
    const bytes = await store.get('key', name, options)
    if (hashName(bytes) !== name) continue
    const record = openKeyRecord(keys, bytes)
    if (record == null) continue
    if (record.bytes.equals(keyFile)) present = true
    else if (record.keyFile.generation < generation) await store.delete('key', name, options)
  }
  if (!present) {
    const sealed = sealKeyRecord(keys, keyFile)
    await store.put('key', hashName(sealed), sealed, options)
  }
}
