import type { Repository } from '../repository/repository.js'
import type { ForgetRecord, SnapshotRecord } from '../format/format.js'
import { withRepositoryLock } from '../repository/repository-lock.js'

export interface RecordRemoval {
  /** Stores that still hold the record (unreachable now); a rebuild of the register would bring it back until they are reached. */
  notReached: string[]
}

/**
 * Forgets a snapshot: a forget record naming it goes to the stores first (so a store away now that still
 * holds the snapshot record cannot bring it back into a rebuilt register), then its snapshot record is
 * deleted from every store and from the register. Its data stays until `prune`.
 */
export async function forgetSnapshot (repo: Repository, name: string, options: { signal?: AbortSignal } = {}): Promise<RecordRemoval> {
  return await withRepositoryLock(repo, 'exclusive', 'forget', options.signal, async () => await forgetLocked(repo, name, options))
}

async function forgetLocked (repo: Repository, name: string, options: { signal?: AbortSignal }): Promise<RecordRemoval> {
  const record: ForgetRecord = { v: 1, created: new Date().toISOString(), snapshots: [name] }
  const forgetName = await repo.putRecord('forget', record, options)
  await repo.register.addForgotten([name])
  await repo.register.addRecordNames('frec', [forgetName])
  const results = await Promise.allSettled(repo.stores.map(async s => { await s.delete('snapshot', name, options) }))
  if (options.signal?.aborted === true) throw options.signal.reason
  await repo.register.deleteSnapshot(name)
  // a snapshot record the last rebuild could not read, now forgotten, no longer leaves the register incomplete
  await repo.register.settleIncomplete(name)
  return { notReached: repo.stores.filter((_, i) => results[i].status === 'rejected').map(s => s.id) }
}

/**
 * Rewrites a snapshot record with `archived` set (or cleared): the new record first, on the stores and
 * in the register, then the old one deleted. Returns the new record's name.
 */
export async function setArchived (repo: Repository, name: string, archived: boolean, options: { signal?: AbortSignal } = {}): Promise<{ name: string, snapshot: SnapshotRecord, unchanged: boolean }> {
  return await withRepositoryLock(repo, 'exclusive', 'archive', options.signal, async () => await setArchivedLocked(repo, name, archived, options))
}

async function setArchivedLocked (repo: Repository, name: string, archived: boolean, options: { signal?: AbortSignal }): Promise<{ name: string, snapshot: SnapshotRecord, unchanged: boolean }> {
  const current = (await repo.register.snapshots()).find(s => s.name === name)
  if (current == null) throw new Error(`snapshot ${name} is not in the register`)
  if ((current.snapshot.archived === true) === archived) return { ...current, unchanged: true }
  const { archived: _old, ...rest } = current.snapshot
  const snapshot: SnapshotRecord = archived ? { ...rest, archived: true } : rest
  const newName = await repo.commitSnapshot(snapshot, options)
  await forgetSnapshot(repo, name, options)
  return { name: newName, snapshot, unchanged: false }
}
