import { access } from 'node:fs/promises'
import { nodeRecordKey } from '../crypto/node-record-key.js'
import { identityPath, loadIdentity } from '../node/identity.js'

/**
 * The key that seals this home's placement records, from its node identity; undefined when the home has
 * no identity (a bare repository made by an old version: it then writes no placement records, and a
 * repair keeps the old copies of the shards it moves).
 */
export async function loadNodeRecordKey (home: string, repositoryId: string): Promise<Buffer | undefined> {
  try { await access(identityPath(home)) } catch { return undefined }
  const identity = await loadIdentity(home)
  return nodeRecordKey(identity.raw, repositoryId)
}
