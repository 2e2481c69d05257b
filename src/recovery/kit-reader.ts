import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { kitReaderSeed, kitSecretOf } from '../crypto/kit-escrow.js'
import { peerIdOf } from '../node/identity.js'

/**
 * The kit reader: the identity a recovering node takes to fetch the kit escrow from the owner's hosts,
 * derived from the kit secret (crypto/kit-escrow.ts). The owner names it to its hosts as a device with the
 * `kit` role, which reads the owner's key objects and nothing else.
 */
export async function kitReaderKey (kitSecret: Uint8Array): Promise<Ed25519PrivateKey> {
  return await generateKeyPairFromSeed('Ed25519', kitReaderSeed(kitSecret))
}

/** The kit reader's peer id for the node whose identity key (protobuf bytes) is given. */
export async function kitReaderPeerId (identity: Uint8Array): Promise<string> {
  return peerIdOf(await kitReaderKey(kitSecretOf(identity))).toString()
}
