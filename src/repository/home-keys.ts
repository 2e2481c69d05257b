import { readFile } from 'node:fs/promises'
import { addKey, openKeyFile, parseKeyFile, removeKey, rotateKeys, serializeKeyFile, type KeyEntry, type KeyFile, type OpenedKeys, type RepositoryKeys } from '../crypto/keys.js'
import { acquireLock, homePaths, readHomeConfig } from '../home/home.js'
import { openStore } from '../store/open-store.js'
import type { ShardStore } from '../store/shard-store.js'
import { readLocalConfig } from './repository-config.js'
import { storeKeyFile } from './repository.js'
import { syncKeyRecord } from './key-record.js'
import { IntegrityError, UsageError } from '../errors.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'

/**
 * The repository's keys, kept in the home's key file (key.json) and copied to the owner's own directory
 * stores: list, add, remove, change a passphrase, rotate the data keys. Every change is made under the
 * home's lock, by a passphrase that opens the repository; the new key file is checked before it replaces
 * the old one (it must open the same master secrets with the passphrase it adds, and the repository's
 * sealed config with them); then the copies on the directory stores are brought to it, older copies
 * removed (a removed key opens nothing the stores keep).
 */
export interface KeyInfo {
  id: string
  label: string
  created: string
  /** a key made before keys had labels (a version-1 key file) */
  legacy: boolean
}

export interface KeyChange {
  /** the key file's generation after the change */
  generation: number
  keys: KeyInfo[]
  /** the key added (add, passwd) */
  added?: KeyInfo
  /** the key removed (remove, passwd) */
  removed?: KeyInfo
  /** key epochs after the change (rotate adds one) */
  epochs: number
  /** directory stores whose copy of the key file was brought up to date, and those that could not be */
  storesUpdated: number
  storeProblems: string[]
}

export interface KeyChangeOptions {
  signal?: AbortSignal
  /** the new key's label (add, passwd) */
  label?: string
  /** the key derivation's memory for the new wrapping (bytes; default 128 MiB) */
  kdfMemory?: number
}

export function keyInfo (k: KeyEntry): KeyInfo {
  return { id: k.id, label: k.label, created: k.created, legacy: k.legacy === true }
}

export async function readKeyFile (home: string): Promise<KeyFile> {
  return parseKeyFile(await readFile(homePaths(home).key))
}

/** The keys of the home's repository (no passphrase needed: labels and dates only). */
export async function listKeys (home: string): Promise<{ generation: number, keys: KeyInfo[] }> {
  const kf = await readKeyFile(home)
  return { generation: kf.generation, keys: kf.keys.map(keyInfo) }
}

/** Adds a key: `newPassphrase` opens the repository as well as the ones before. */
export async function addHomeKey (home: string, passphrase: string, newPassphrase: string, options: KeyChangeOptions = {}): Promise<KeyChange> {
  return await change(home, passphrase, async (kf, opened) => {
    const { keyFile, entry } = await addKey(kf, opened.secrets, newPassphrase, options.label ?? 'added', options.kdfMemory)
    return { keyFile, check: newPassphrase, added: entry }
  }, options)
}

/** Removes a key other than the one `passphrase` opens (that one is changed with passwd). */
export async function removeHomeKey (home: string, passphrase: string, id: string, options: KeyChangeOptions = {}): Promise<KeyChange> {
  return await change(home, passphrase, async (kf, opened) => {
    const target = kf.keys.find(k => k.id === id || (id.length >= 4 && k.id.startsWith(id)))
    if (target == null) throw new UsageError(`no key ${id}: see holdfast key list`)
    if (kf.keys.filter(k => k.id.startsWith(id)).length > 1 && target.id !== id) throw new UsageError(`key ${id} is ambiguous: give more of its id`)
    if (target.id === opened.entry.id) throw new UsageError(`key ${target.id} is the one this passphrase opens: change it with holdfast key passwd, or remove it with another key's passphrase`)
    return { keyFile: removeKey(kf, target.id), check: passphrase, removed: target }
  }, options)
}

/** Changes the passphrase of the key `passphrase` opens: the new key is checked, then the old one removed. */
export async function changeHomePassphrase (home: string, passphrase: string, newPassphrase: string, options: KeyChangeOptions = {}): Promise<KeyChange> {
  if (newPassphrase === passphrase) throw new UsageError('the new passphrase is the old one')
  return await change(home, passphrase, async (kf, opened) => {
    const { keyFile: withNew, entry } = await addKey(kf, opened.secrets, newPassphrase, options.label ?? opened.entry.label, options.kdfMemory)
    // the new key must open the same secrets before the old wrapping goes
    await verify(home, withNew, newPassphrase, opened)
    return { keyFile: removeKey(withNew, opened.entry.id), check: newPassphrase, added: entry, removed: opened.entry }
  }, options)
}

/** A new key epoch for everything written from now on (see crypto/keys.ts rotateKeys). */
export async function rotateHomeKeys (home: string, passphrase: string, options: KeyChangeOptions = {}): Promise<KeyChange> {
  return await change(home, passphrase, async (kf, opened) => {
    const { keyFile } = await rotateKeys(kf, opened, passphrase, options.kdfMemory)
    return { keyFile, check: passphrase, rotated: true }
  }, options)
}

interface Planned { keyFile: KeyFile, check: string, added?: KeyEntry, removed?: KeyEntry, rotated?: boolean }

async function change (home: string, passphrase: string, plan: (kf: KeyFile, opened: OpenedKeys) => Promise<Planned>, options: KeyChangeOptions): Promise<KeyChange> {
  const release = await acquireLock(home, 'key', { signal: options.signal })
  try {
    const kf = await readKeyFile(home)
    const opened = await openKeyFile(kf, passphrase)
    const planned = await plan(kf, opened)
    const bytes = serializeKeyFile(planned.keyFile)
    // what is written is what was checked: the bytes parsed again and opened with the passphrase they keep
    const reopened = await verify(home, parseKeyFile(bytes), planned.check, planned.rotated === true ? undefined : opened)
    await writeFileAtomic(homePaths(home).key, bytes)
    const copies = await syncKeyCopies(home, bytes, planned.keyFile.generation, reopened.keys, options.signal)
    return {
      generation: planned.keyFile.generation,
      keys: planned.keyFile.keys.map(keyInfo),
      ...(planned.added != null ? { added: keyInfo(planned.added) } : {}),
      ...(planned.removed != null ? { removed: keyInfo(planned.removed) } : {}),
      epochs: reopened.secrets.length,
      ...copies
    }
  } finally {
    await release()
  }
}

/** The key file opens with `passphrase`, to the same secrets as `before` (when given) and to the repository's config. */
async function verify (home: string, kf: KeyFile, passphrase: string, before?: OpenedKeys): Promise<OpenedKeys> {
  const opened = await openKeyFile(kf, passphrase)
  if (before != null && (opened.secrets.length !== before.secrets.length || opened.secrets.some((s, i) => !s.equals(before.secrets[i])))) {
    throw new IntegrityError('the new key file does not open the repository\'s master secrets: nothing was changed')
  }
  // the home's sealed config (absent in old or recovered homes): opened with the keys the new file gives
  await readLocalConfig(homePaths(home).repoConfig, opened.keys)
  return opened
}

/**
 * Brings the copies of the key file on the owner's directory stores to `bytes`: puts it, then removes
 * every other key file there whose generation is lower (a copy that does not parse is left alone), and
 * its key record likewise (the peers' records follow at the next backup's seeding).
 */
async function syncKeyCopies (home: string, bytes: Buffer, generation: number, keys: RepositoryKeys, signal?: AbortSignal): Promise<{ storesUpdated: number, storeProblems: string[] }> {
  const homeConfig = await readHomeConfig(home)
  let storesUpdated = 0
  const storeProblems: string[] = []
  for (const spec of homeConfig.stores) {
    if (!spec.startsWith('dir:')) continue
    let store: ShardStore | undefined
    try {
      store = openStore(spec, { verifyWrites: true })
      await storeKeyFile(store, bytes, generation, { signal })
      await syncKeyRecord(store, keys, bytes, generation, { signal })
      storesUpdated++
    } catch (err) {
      if (signal?.aborted === true) throw err
      storeProblems.push(`${spec}: ${(err as Error).message}`)
    } finally {
      await store?.close()
    }
  }
  return { storesUpdated, storeProblems }
}
