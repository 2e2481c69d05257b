import { peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { SeedError } from '../errors.js'

/**
 * A seed: the shards meant for one host, written to a disk by their owner and carried to the host. The
 * manifest lists them (name = SHA-256 of the bytes, size) and is signed with the owner's identity key,
 * so that the host takes them into the owner's space only from that owner, and each shard only if its
 * bytes hash to its name.
 */
export const SEED_KIND = 'holdfast-seed'
export const SEED_MANIFEST = 'manifest.json'
export const MAX_SEED_SHARDS = 1_000_000
export const MAX_MANIFEST_BYTES = 128 * 1024 * 1024

export interface SeedManifest {
  kind: typeof SEED_KIND
  v: 1
  created: string
  /** peer ids */
  owner: string
  host: string
  shards: Array<{ name: string, size: number }>
}

export interface SignedSeedManifest { manifest: SeedManifest, signature: string }

const bytesOf = (m: SeedManifest): Uint8Array => Buffer.from(`${SEED_KIND}/1\n${JSON.stringify(m)}`)

export async function signManifest (m: SeedManifest, key: PrivateKey): Promise<SignedSeedManifest> {
  return { manifest: m, signature: Buffer.from(await key.sign(bytesOf(m))).toString('base64') }
}

/** Checks the form and the owner's signature; SeedError otherwise. */
export async function verifyManifest (text: string): Promise<SeedManifest> {
  let doc: SignedSeedManifest
  try { doc = JSON.parse(text) } catch { throw new SeedError('the seed manifest is not JSON') }
  const m = doc?.manifest
  if (m?.kind !== SEED_KIND || m.v !== 1) throw new SeedError('not a Holdfast seed (or a version this one does not read)')
  if (typeof m.owner !== 'string' || typeof m.host !== 'string' || !Array.isArray(m.shards) || m.shards.length > MAX_SEED_SHARDS) throw new SeedError('the seed manifest is malformed')
  for (const s of m.shards) if (typeof s?.name !== 'string' || !/^[0-9a-f]{64}$/.test(s.name) || !Number.isSafeInteger(s.size) || s.size < 0) throw new SeedError('the seed manifest lists a malformed shard')
  let ok = false
  try {
    const key = peerIdFromString(m.owner).publicKey
    ok = key != null && typeof doc.signature === 'string' && await key.verify(bytesOf(m), Buffer.from(doc.signature, 'base64'))
  } catch { ok = false }
  if (!ok) throw new SeedError(`the seed manifest is not signed by its owner ${m.owner}`)
  return m
}
