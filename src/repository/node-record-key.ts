import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { nodeRecordKey } from '../crypto/node-record-key.js'
import { identityPath, loadIdentity } from '../node/identity.js'

/**
 * The key that seals this home's placement records, from its node identity; undefined when the home has
 * no identity (a bare repository made by an old version: it then writes no placement records, and a
 * repair keeps the old copies of the shards it moves).
 */
export async function loadNodeRecordKey (home: string, repositoryId: string): Promise<Buffer | undefined> {
  // a second device reads the placement records of its owner, sealed with the owner's key (device join)
  const owners = await readFile(ownerRecordKeyPath(home)).catch(() => undefined)
  if (owners != null && owners.length === 32) return owners
  try { await access(identityPath(home)) } catch { return undefined }
  const identity = await loadIdentity(home)
  return nodeRecordKey(identity.raw, repositoryId)
}

/** Where a second device keeps its owner's record key (mode 0600). */
export const ownerRecordKeyPath = (home: string): string => join(home, 'owner-record.key')
