import { listNames } from '../repository/record-list.js'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { readdir } from 'node:fs/promises'
import { hashName } from '../store/hash-name.js'
import type { ShardStore } from '../store/shard-store.js'
import { parseKeyFile, unlockKeyFile } from '../crypto/keys.js'
import { isPlainKeyFile } from '../repository/key-record.js'
import { RecoveryKitError, RepositoryExistsError, WrongPassphraseError } from '../errors.js'
import { homePaths } from '../home/home.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import { peerIdOf, writeIdentity } from '../node/identity.js'
import { writeProfile } from '../node/profile.js'
import { TrustList } from '../node/trust-list.js'
import type { HomeConfig } from '../format/format.js'
import type { KitContents } from './recovery-kit.js'

/**
 * Writes a new home from an opened recovery kit: the node's identity (so that its peers know it), its
 * name and site, its trusted peers, and a home config naming the repository with its shards on peers.
 * The key file and the register come from the peers afterwards (fetchKeyFile, then the register rebuild
 * of Repository.open). Refuses a home that is not empty.
 */
export async function writeRecoveredHome (home: string, kit: KitContents): Promise<void> {
  const key = privateKeyFromProtobuf(kit.identity)
  if (peerIdOf(key).toString() !== kit.peerId) throw new RecoveryKitError('the kit\'s identity key does not match its peer id')
  let entries: string[] = []
  try { entries = await readdir(home) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err }
  if (entries.length > 0) throw new RepositoryExistsError(`${home} is not empty: recover into a new directory`)
  await writeIdentity(home, key)
  await writeProfile(home, { name: kit.name, site: kit.site })
  const trust = await TrustList.open(home)
  for (const p of kit.peers) await trust.add({ peerId: p.peerId, name: p.name, site: p.site, addresses: p.addresses, quotaGranted: p.quotaGranted, quotaReceived: p.quotaReceived })
  await trust.flush()
  const homeConfig: HomeConfig = { version: 1, repository: kit.repository, stores: [], peers: true }
  await writeFileAtomic(homePaths(home).config, JSON.stringify(homeConfig, null, 2) + '\n')
}

/** Writes the key file the kit carries (or that its hosts keep for it), once the passphrase opens it. */
export async function writeKitKeyFile (home: string, keyFile: Uint8Array, passphrase: string, from = 'the recovery kit'): Promise<{ from: string }> {
  await unlockKeyFile(parseKeyFile(keyFile), passphrase)
  await writeFileAtomic(homePaths(home).key, keyFile)
  return { from }
}

/**
 * Fetches the repository's key file from the stores (kits made before the kit held it): the first one whose name is its hash and that the
 * passphrase opens is written to the home. WrongPassphraseError when copies were found and none opened.
 */
export async function fetchKeyFile (home: string, stores: ShardStore[], passphrase: string, options: { signal?: AbortSignal } = {}): Promise<{ from: string }> {
  let found = 0
  const problems: string[] = []
  for (const store of stores) {
    try {
      // bounded like every listing: a peer that lists garbage or without end cannot hold the recovery
      const listed = await listNames([store], 'key', { ...options, maxNames: 64, timeoutMs: 30_000 })
      if (listed.reached === 0) problems.push(...listed.problems)
      for (const name of listed.names) {
        const bytes = await store.get('key', name, options)
        if (hashName(bytes) !== name) { problems.push(`${store.label ?? store.id}: a corrupt key file`); continue }
        if (!isPlainKeyFile(bytes)) continue // a key record (sealed under the repository's keys), not a key file
        found++
        try {
          await unlockKeyFile(parseKeyFile(bytes), passphrase)
        } catch (err) {
          if ((err as Error).name === 'WrongPassphraseError') continue
          throw err
        }
        await writeFileAtomic(homePaths(home).key, bytes)
        return { from: store.label ?? store.id }
      }
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      problems.push(`${store.label ?? store.id}: ${(err as Error).message}`)
    }
  }
  if (found > 0) throw new WrongPassphraseError('the passphrase does not open the repository key kept by the peers')
  throw new RecoveryKitError(`no peer gave the repository's key file${problems.length > 0 ? `: ${problems.join('; ')}` : ''}`)
}
