import { deriveKey, KdfParams, validateKdfParams } from '../crypto/kdf.js'
import { open, seal } from '../crypto/aead.js'
import { openKeyFile, parseKeyFile, purposeKey } from '../crypto/keys.js'
import { KIT_SECRET_LENGTH } from '../crypto/kit-escrow.js'
import { RecoveryKitError, WrongPassphraseError } from '../errors.js'

/**
 * The recovery kit: what a new machine needs, beside the passphrase, to find its peers again and be
 * recognised by them. It holds the node's identity key sealed with a key derived from the passphrase
 * (scrypt, AES-256-GCM), the repository's id, the node's name and site, and a few trusted peers with
 * their addresses, so that the node can dial them (and ask them, through the DHT, for the others). It
 * also holds the repository's key file (the master key wrapped by the passphrase, as in the home): the
 * peers never receive it, so a host cannot try passphrases against it offline. It holds no passphrase.
 * Kits made before the key file was kept in them lack it; recovering from one fetches the key file from
 * the peers that still hold it.
 *
 * Version 3: the kit carries no key file. It carries the kit secret instead (crypto/kit-escrow.ts), with
 * which the recovering node fetches the repository's current key file from the hosts (they keep it sealed
 * under that secret and cannot read it) and opens it with the passphrase. So any passphrase the repository
 * has now opens every kit, old ones included, and a removed passphrase opens none. The identity is sealed
 * with a key derived from the repository's first master secret, which no key change alters.
 * Version 2 kits (the key file as it was when the kit was made; the identity sealed as in version 3) and
 * version 1 kits (the identity sealed with the passphrase) are still read.
 */
export const KIT_KIND = 'holdfast-recovery-kit'
export const MAX_KIT_PEERS = 16
export const MAX_KIT_ADDRESSES = 4
/** Largest kit file read. */
export const MAX_KIT_BYTES = 64 * 1024

export interface KitPeer {
  peerId: string
  name: string
  site: string
  addresses: string[]
  quotaGranted: number
  quotaReceived: number
}

export interface RecoveryKit {
  kind: typeof KIT_KIND
  v: 1 | 2 | 3
  created: string
  repository: string
  peerId: string
  name: string
  site: string
  /** version 1: the derivation of the key that seals the identity from the passphrase */
  kdf?: KdfParams
  /** base64: the identity key (libp2p protobuf), sealed; the AAD binds it to the repository and peer id. */
  identity: string
  /** base64: the repository's key file (its keys wrap the master secrets); version 2 only. */
  keyFile?: string
  /** base64: the kit secret (version 3): it finds and opens the key file the hosts keep for the kit. */
  kitSecret?: string
  peers: KitPeer[]
}

/** Largest key file a kit carries. */
export const MAX_KIT_KEY_FILE = 32 * 1024

export interface KitContents {
  repository: string
  peerId: string
  name: string
  site: string
  identity: Uint8Array
  keyFile?: Uint8Array
  peers: KitPeer[]
}

const KIT_IDENTITY = 'recovery-kit-identity'

const aad = (kit: Pick<RecoveryKit, 'repository' | 'peerId'>): Buffer => Buffer.from(`${KIT_KIND}/1 ${kit.repository} ${kit.peerId}`)

/**
 * A version-3 kit: the identity sealed under the repository's master secrets (`secrets`, oldest first), the
 * kit secret beside it (the key file stays with the hosts, sealed under that secret: KitEscrowService).
 */
export async function makeKit (c: Omit<KitContents, 'keyFile'>, secrets: readonly Uint8Array[], kitSecret: Uint8Array): Promise<RecoveryKit> {
  if (kitSecret.length !== KIT_SECRET_LENGTH) throw new RecoveryKitError('the kit secret has the wrong length')
  const peers = c.peers.slice(0, MAX_KIT_PEERS).map(p => ({ ...p, addresses: p.addresses.slice(0, MAX_KIT_ADDRESSES) }))
  return {
    kind: KIT_KIND,
    v: 3,
    created: new Date().toISOString(),
    repository: c.repository,
    peerId: c.peerId,
    name: c.name,
    site: c.site,
    identity: seal(purposeKey(secrets, KIT_IDENTITY), c.identity, aad(c)).toString('base64'),
    kitSecret: Buffer.from(kitSecret).toString('base64'),
    peers
  }
}

/** The kit secret of a version-3 kit. */
export function kitSecretIn (kit: RecoveryKit): Buffer {
  if (kit.v !== 3 || kit.kitSecret == null) throw new RecoveryKitError(`a version ${kit.v} recovery kit has no kit secret`)
  return Buffer.from(kit.kitSecret, 'base64')
}

/** Reads a kit's text; RecoveryKitError when it is not a kit this version reads. */
export function parseKit (text: string): RecoveryKit {
  if (text.length > MAX_KIT_BYTES) throw new RecoveryKitError(`a recovery kit is at most ${MAX_KIT_BYTES} bytes`)
  let kit: RecoveryKit
  try { kit = JSON.parse(text) } catch { throw new RecoveryKitError('not a recovery kit (not JSON)') }
  const str = (v: unknown): boolean => typeof v === 'string' && v.length > 0 && v.length < 4096
  if (kit?.kind !== KIT_KIND) throw new RecoveryKitError('not a Holdfast recovery kit')
  if (kit.v !== 1 && kit.v !== 2 && kit.v !== 3) throw new RecoveryKitError(`recovery kit version ${String(kit.v)} is not supported`)
  if (kit.v === 2 && kit.keyFile == null) throw new RecoveryKitError('the recovery kit is incomplete: it has no key file')
  if (kit.v === 3 && (typeof kit.kitSecret !== 'string' || Buffer.from(kit.kitSecret, 'base64').length !== KIT_SECRET_LENGTH || kit.keyFile != null)) throw new RecoveryKitError('the recovery kit\'s kit secret is malformed')
  if (!str(kit.repository) || !/^[0-9a-f]{32}$/.test(kit.repository) || !str(kit.peerId) || !str(kit.identity) || typeof kit.name !== 'string' || typeof kit.site !== 'string') throw new RecoveryKitError('the recovery kit is incomplete')
  if (!Array.isArray(kit.peers) || kit.peers.length > MAX_KIT_PEERS) throw new RecoveryKitError('the recovery kit\'s peer list is malformed')
  for (const p of kit.peers) {
    if (!str(p?.peerId) || typeof p.name !== 'string' || typeof p.site !== 'string' || !Array.isArray(p.addresses) || p.addresses.length > MAX_KIT_ADDRESSES || !p.addresses.every(str) ||
        !Number.isSafeInteger(p.quotaGranted) || !Number.isSafeInteger(p.quotaReceived)) throw new RecoveryKitError(`the recovery kit's entry for peer ${String(p?.peerId)} is malformed`)
  }
  if (kit.keyFile != null && (!str(kit.keyFile) || kit.keyFile.length > MAX_KIT_KEY_FILE * 4 / 3 + 4)) throw new RecoveryKitError('the recovery kit\'s key file is malformed')
  if (kit.v === 1) {
    try { validateKdfParams(kit.kdf as KdfParams) } catch (err) { throw new RecoveryKitError(`the recovery kit's key derivation: ${(err as Error).message}`) }
  }
  return kit
}

/**
 * Opens a kit with a passphrase: WrongPassphraseError when it opens none of the keys of the key file
 * (version 3: `keyFile`, the one the hosts keep for the kit; version 2: the kit's own) or does not open the
 * sealed identity (version 1).
 */
export async function openKit (kit: RecoveryKit, passphrase: string, hostsKeyFile?: Uint8Array): Promise<KitContents> {
  let key: Buffer
  let keyFileBytes: Buffer | undefined
  if (kit.v === 2 || kit.v === 3) {
    if (kit.v === 3 && hostsKeyFile == null) throw new RecoveryKitError('a version 3 recovery kit opens with the key file its hosts keep: fetch it first')
    keyFileBytes = kit.v === 3 ? Buffer.from(hostsKeyFile!) : Buffer.from(kit.keyFile!, 'base64')
    let keyFile
    try { keyFile = parseKeyFile(keyFileBytes) } catch (err) { throw new RecoveryKitError(`the recovery kit's key file: ${(err as Error).message}`) }
    let opened
    try { opened = await openKeyFile(keyFile, passphrase) } catch (err) {
      if ((err as Error).name === 'WrongPassphraseError') {
        throw new WrongPassphraseError(kit.v === 3
          ? 'the passphrase opens none of the repository\'s keys'
          : 'the passphrase opens none of the keys this recovery kit knows (a key added after the kit was made does not open a version 2 kit)', { cause: err })
      }
      throw err
    }
    key = purposeKey(opened.secrets, KIT_IDENTITY)
  } else {
    key = await deriveKey(passphrase, kit.kdf as KdfParams)
  }
  let identity: Uint8Array
  try {
    identity = open(key, Buffer.from(kit.identity, 'base64'), aad(kit), 'recovery kit identity')
  } catch (err) {
    throw new WrongPassphraseError(kit.v === 3 ? 'the repository\'s keys do not open this recovery kit (a kit of another repository?)' : 'the passphrase does not open this recovery kit', { cause: err })
  }
  return { repository: kit.repository, peerId: kit.peerId, name: kit.name, site: kit.site, identity, peers: kit.peers, ...(keyFileBytes != null ? { keyFile: keyFileBytes } : {}) }
}
