import { link, mkdir, open, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId, PrivateKey, PublicKey } from '@libp2p/interface'
import { IdentityError } from '../errors.js'

/**
 * The node's libp2p identity: an Ed25519 private key kept in HOME/identity.key (protobuf-encoded, as
 * libp2p's privateKeyToProtobuf writes it), mode 0600. Its peer id is how every other node knows this one.
 */
export const identityPath = (home: string): string => join(home, 'identity.key')

/** Creates a new identity; refuses to replace an existing one (a new key would be a new peer to everyone). */
export async function createIdentity (home: string): Promise<Ed25519PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  await writeIdentity(home, key)
  return key
}

/** Writes a given identity (a recovered one); refuses to replace an existing one. */
export async function writeIdentity (home: string, key: PrivateKey): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 })
  const path = identityPath(home)
  // Written in full to a temp file, then hard-linked into place: link() fails with EEXIST instead of
  // replacing, and readers never see a partly written key.
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    try { await fh.writeFile(privateKeyToProtobuf(key)); await fh.sync() } finally { await fh.close() }
    try {
      await link(tmp, path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new IdentityError(`${path} already exists: this home already has an identity`)
      throw err
    }
  } finally {
    await rm(tmp, { force: true })
  }
}

/** Loads the identity; IdentityError if it is missing, unreadable or not an Ed25519 key. */
export async function loadIdentity (home: string): Promise<Ed25519PrivateKey> {
  const path = identityPath(home)
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT'
    throw new IdentityError(missing ? `no identity in ${home} (run "holdfast init" first)` : `cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
  let key: PrivateKey
  try { key = privateKeyFromProtobuf(bytes) } catch (err) {
    throw new IdentityError(`${path} is not a valid libp2p private key`, { cause: err })
  }
  if (key.type !== 'Ed25519') throw new IdentityError(`${path} holds a ${key.type} key; Holdfast identities are Ed25519`)
  return key
}

/** Loads the identity, creating it first if the home has none. */
export async function loadOrCreateIdentity (home: string): Promise<Ed25519PrivateKey> {
  try {
    await stat(identityPath(home))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    try { return await createIdentity(home) } catch (e) {
      if ((e as Error).name !== 'IdentityError') throw e // lost a race with another creator: load theirs
    }
  }
  return await loadIdentity(home)
}

/** The peer id of a key, or of a peer id given as a string (validated). */
export function peerIdOf (key: PrivateKey | PublicKey | PeerId | string): PeerId {
  if (typeof key === 'string') return peerIdFromString(key)
  if ('sign' in key) return peerIdFromPrivateKey(key)
  if ('verify' in key) return peerIdFromPublicKey(key)
  return key
}
