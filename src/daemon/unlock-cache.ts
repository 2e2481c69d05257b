import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { unlockKeyFile, type DataKeys, type KeyFile, type RepositoryKeys } from '../crypto/keys.js'

/**
 * The daemon's memory of a repository's unlocked keys, so that it does not derive the passphrase key
 * (scrypt: 128 MiB and 0.3-1 s on the development machine) for every command the CLI sends it.
 *
 * Every command still brings the passphrase. The first one is checked the slow way (the key file is
 * opened with it); the keys are then kept together with an HMAC of that passphrase under a random key
 * of this cache, and a later command with the same key file whose passphrase gives the same HMAC
 * (compared in constant time) gets them at once. Any other passphrase takes the slow way again, so a
 * wrong one still costs a guesser a full scrypt. Keys are kept `idleMs` after their last use (default
 * 10 minutes), then zeroed; `clear()` (on daemon stop) zeroes them at once. Callers get copies, so
 * zeroing never reaches a repository still open.
 *
 * What this trades: the unwrapped keys stay in the daemon's memory for that while, where the
 * passphrase itself passes anyway (it travels with each command over the local API).
 */
export const DEFAULT_UNLOCK_IDLE_MS = 10 * 60_000

export type UnlockFn = (keyFile: KeyFile, passphrase: string) => Promise<RepositoryKeys>

export interface UnlockCacheInit {
  /** How long keys stay after their last use; 0 keeps none (every command runs scrypt). */
  idleMs?: number
  /** Opens a key file the slow way (default unlockKeyFile); tests pass a counting one. */
  unlock?: UnlockFn
}

interface Entry {
  verifier: Buffer
  keys: RepositoryKeys
  timer?: ReturnType<typeof setTimeout>
}

export class UnlockCache {
  private readonly idleMs: number
  private readonly slow: UnlockFn
  private readonly secret = randomBytes(32)
  private readonly entries = new Map<string, Entry>()

  constructor (init: UnlockCacheInit = {}) {
    this.idleMs = init.idleMs ?? DEFAULT_UNLOCK_IDLE_MS
    this.slow = init.unlock ?? unlockKeyFile
  }

  /** Key files whose keys are held now. */
  get size (): number { return this.entries.size }

  /** The keys of `keyFile` (copies), from memory when this passphrase opened it before; else as unlockKeyFile. */
  readonly unlock: UnlockFn = async (keyFile, passphrase) => {
    const id = keyFileId(keyFile)
    const verifier = createHmac('sha256', this.secret).update(passphrase.normalize('NFC')).digest()
    const held = this.entries.get(id)
    if (held != null && timingSafeEqual(held.verifier, verifier)) {
      this.arm(id, held)
      return copyKeys(held.keys)
    }
    const keys = await this.slow(keyFile, passphrase)
    if (this.idleMs > 0) {
      if (held != null) this.drop(id)
      const entry: Entry = { verifier, keys: copyKeys(keys) }
      this.entries.set(id, entry)
      this.arm(id, entry)
    }
    return keys
  }

  /** Zeroes and forgets every key held. */
  clear (): void {
    for (const id of [...this.entries.keys()]) this.drop(id)
  }

  private arm (id: string, entry: Entry): void {
    clearTimeout(entry.timer)
    entry.timer = setTimeout(() => { if (this.entries.get(id) === entry) this.drop(id) }, this.idleMs)
    entry.timer.unref()
  }

  private drop (id: string): void {
    const entry = this.entries.get(id)
    if (entry == null) return
    this.entries.delete(id)
    clearTimeout(entry.timer)
    entry.verifier.fill(0)
    zero(entry.keys)
  }
}

/** A key file's identity: its keys' wrapped secrets and KDF parameters (a key file changed is a new entry). */
function keyFileId (keyFile: KeyFile): string {
  return createHash('sha256').update(JSON.stringify(keyFile.keys.map(k => [k.id, k.kdf.algorithm, k.kdf.N, k.kdf.r, k.kdf.p, k.kdf.salt, k.wrapped]))).digest('hex')
}

function copyKeys (keys: RepositoryKeys): RepositoryKeys {
  const copy = (k: DataKeys): DataKeys => ({ encryption: Buffer.from(k.encryption), id: Buffer.from(k.id), chunker: Buffer.from(k.chunker) })
  return keys.older != null ? { ...copy(keys), older: keys.older.map(copy) } : copy(keys)
}

function zero (keys: RepositoryKeys): void {
  for (const k of [keys, ...(keys.older ?? [])]) { k.encryption.fill(0); k.id.fill(0); k.chunker.fill(0) }
}
