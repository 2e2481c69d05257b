import { hkdfSync } from 'node:crypto'

/**
 * The key that seals a node's placement records: derived from the node's identity key (HKDF-SHA256,
 * salted with the repository id). The identity is in the home and in the recovery kit, so the daemon's
 * unattended repairs can seal a record without the passphrase, and a recovered home can open them.
 * Hosts know neither, so they can neither read where the other shards of a pack are nor forge a move.
 */
export function nodeRecordKey (identityRaw: Uint8Array, repositoryId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', identityRaw, Buffer.from(repositoryId, 'utf8'), Buffer.from('holdfast node record key v1', 'utf8'), 32))
}
