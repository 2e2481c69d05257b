import { readFile } from 'node:fs/promises'
import { ConfigError, PassphraseNeededError } from '../errors.js'
import { unreadableReason } from '../util/unreadable-reason.js'
import { homePaths, readHomeConfig } from '../home/home.js'
import { parseKeyFile } from '../crypto/keys.js'
import { Repository } from '../repository/repository.js'
import { openVault } from '../store/directory-store.js'
import type { NodeConfig } from '../config/node-config.js'
import type { ShardStore } from '../store/index.js'
import type { UnlockFn } from './unlock-cache.js'

export interface RepositoryAccessInit {
  home: string
  config: () => NodeConfig
  /** The stores of a peers repository (one per trusted peer). */
  peerStores: () => ShardStore[]
  /** Opens the key file (the daemon's unlock cache). */
  unlock: UnlockFn
  /** How long a passphrase given through the dashboard is kept after its last use (default 10 min). */
  idleMs?: number
  /** Where $HOLDFAST_PASSPHRASE is read (default process.env). */
  env?: NodeJS.ProcessEnv
}

/** Where the daemon's passphrase comes from now. */
export type AccessState = 'configured' | 'unlocked' | 'locked'

/**
 * How the daemon opens its owner's repository for what it runs on its own or for the dashboard
 * (scheduled and "Back up now" sessions, browsing, downloads, WebDAV): with the passphrase of
 * backup.passphraseFile or $HOLDFAST_PASSPHRASE when one is configured, else with the one a user gave
 * through the dashboard's unlock, kept in memory `idleMs` after its last use and forgotten on `lock()`
 * or daemon stop. Without either, `open` fails with PassphraseNeededError (the dashboard asks for it).
 */
export class RepositoryAccess {
  private given?: string
  private timer?: ReturnType<typeof setTimeout>
  private readonly idleMs: number

  constructor (private readonly init: RepositoryAccessInit) {
    this.idleMs = init.idleMs ?? 10 * 60_000
  }

  /** Whether a passphrase is at hand, and whence. */
  async state (): Promise<AccessState> {
    if (await this.configured() != null) return 'configured'
    return this.given != null ? 'unlocked' : 'locked'
  }

  /** The passphrase to open the repository with (PassphraseNeededError when there is none). */
  async passphrase (): Promise<string> {
    const configured = await this.configured()
    if (configured != null) return configured
    if (this.given != null) {
      this.arm()
      return this.given
    }
    throw new PassphraseNeededError('the repository is locked: unlock it with its passphrase in the dashboard, or set backup.passphraseFile in the node config (or $HOLDFAST_PASSPHRASE for the daemon)')
  }

  /** Checks `passphrase` against the key file (WrongPassphraseError) and keeps it `idleMs`. */
  async unlockWith (passphrase: string): Promise<void> {
    const keyFile = parseKeyFile(await readFile(homePaths(this.init.home).key))
    await this.init.unlock(keyFile, passphrase)
    this.given = passphrase
    this.arm()
  }

  /** Forgets the passphrase given through the dashboard. */
  lock (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.given = undefined
  }

  /** Opens the repository (on the peers or the configured stores) with the passphrase at hand. */
  async open (signal?: AbortSignal): Promise<Repository> {
    const passphrase = await this.passphrase()
    const config = this.init.config()
    const peers = (await readHomeConfig(this.init.home)).peers === true
    const vault = await openVault(config.vault)
    return await Repository.open(this.init.home, passphrase, { signal, stores: peers ? this.init.peerStores() : undefined, unlock: this.init.unlock, placement: config.placement, vault })
  }

  private async configured (): Promise<string | undefined> {
    const file = this.init.config().backup.passphraseFile
    if (file !== '') {
      try {
        return (await readFile(file, 'utf8')).replace(/\r?\n$/, '')
      } catch (err) {
        throw new ConfigError(`backup.passphraseFile ${file} cannot be read: ${unreadableReason(err)}`, { cause: err })
      }
    }
    const env = (this.init.env ?? process.env).HOLDFAST_PASSPHRASE
    return env != null && env !== '' ? env : undefined
  }

  private arm (): void {
    clearTimeout(this.timer)
    if (this.idleMs <= 0) return
    this.timer = setTimeout(() => this.lock(), this.idleMs)
    this.timer.unref()
  }
}
