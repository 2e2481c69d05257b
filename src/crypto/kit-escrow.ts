import { hkdfSync } from 'node:crypto'
import { open, seal } from './aead.js'

/**
 * The kit escrow: the repository's current key file, sealed under a secret that the recovery kit carries,
 * kept by the owner's hosts as a `key` object. A recovery kit (version 3) holds no key file of its own:
 * the recovering node reads the current one from the hosts and opens it with the passphrase, so every
 * passphrase the repository has now opens every kit, and a removed one opens none.
 *
 * The kit secret is derived from the node's identity key, so the owner's node can seal each new key file
 * without the passphrase (and every kit of a node carries the same secret). From it come:
 * - the escrow key (AES-256-GCM), which seals the key file: the hosts cannot open it, and cannot forge one;
 * - the seed of the kit reader's identity (kit-reader.ts): the hosts let that peer read the owner's `key`
 *   objects and nothing else, so the recovering node can fetch the escrow before it has the owner's identity.
 * Whoever holds a kit can fetch the key file and try passphrases against it, as with the key file that
 * older kits carried: a kit is kept like the passphrase's companion, apart from the machine.
 */
const AAD = Buffer.from('holdfast kit escrow v1')
export const KIT_SECRET_LENGTH = 32

const derive = (from: Uint8Array, info: string): Buffer => Buffer.from(hkdfSync('sha256', from, Buffer.alloc(0), info, 32))

/** The kit secret of a node, from its identity key (libp2p protobuf bytes). */
export function kitSecretOf (identity: Uint8Array): Buffer {
  return derive(identity, 'holdfast/v1/recovery-kit-secret')
}

/** The 32-byte seed of the kit reader's Ed25519 identity. */
export function kitReaderSeed (kitSecret: Uint8Array): Buffer {
  return derive(kitSecret, 'holdfast/v1/kit-reader-identity')
}

const escrowKey = (kitSecret: Uint8Array): Buffer => derive(kitSecret, 'holdfast/v1/kit-escrow')

export function sealKitEscrow (kitSecret: Uint8Array, keyFile: Uint8Array): Buffer {
  return seal(escrowKey(kitSecret), keyFile, AAD)
}

/** The key file an escrow holds, or undefined for a `key` object that is no escrow under this secret. */
export function openKitEscrow (kitSecret: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  try {
    return open(escrowKey(kitSecret), sealed, AAD, 'kit escrow')
  } catch {
    return undefined
  }
}
