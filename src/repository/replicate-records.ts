import type { Repository } from './repository.js'
import type { RecordKind } from './records.js'
import { listNames } from './record-list.js'

export interface ReplicationReport {
  /** record copies put on stores that lacked them */
  copied: number
  /** records with no readable copy left on any reachable store: nothing could be copied */
  lost: Array<{ kind: RecordKind, name: string }>
  /** stores that could not be listed or written (away now: done when they are back) */
  problems: string[]
}

/**
 * Gives every reachable store a copy of every record in force: the effective index records, placement
 * and forget records, snapshots. A store paired after the first backup, or one that lost a record, gets
 * it from a store that has it; the bytes are checked against their name (the record's hash) before they
 * are put, and need no key, so the daemon's unattended rounds can do it. The key file and the config are
 * seeded separately (Repository.seedRecords).
 */
export async function replicateRecords (repo: Repository, options: { signal?: AbortSignal } = {}): Promise<ReplicationReport> {
  const register = repo.register
  const wanted: Array<[RecordKind, string[]]> = [
    ['index', await register.recordNames('irec')],
    ['placement', await register.recordNames('prec')],
    ['forget', await register.recordNames('frec')],
    ['snapshot', (await register.snapshots()).map(s => s.name)]
  ]
  const report: ReplicationReport = { copied: 0, lost: [], problems: [] }
  for (const [kind, names] of wanted) {
    if (names.length === 0) continue
    const held = new Map<string, Set<string>>()
    await Promise.all(repo.stores.map(async store => {
      if (store.reachable?.() === false) return
      const listed = await listNames([store], kind, options)
      if (listed.reached === 0) { report.problems.push(...listed.problems); return }
      held.set(store.id, new Set(listed.names))
    }))
    for (const name of names) {
      const lacking = repo.stores.filter(s => held.get(s.id)?.has(name) === false)
      if (lacking.length === 0) continue
      let bytes: Uint8Array
      try { bytes = await repo.getRecordBytes(kind, name, options) } catch (err) {
        if (options.signal?.aborted === true) throw err
        if (lacking.length === held.size) report.lost.push({ kind, name })
        continue
      }
      for (const store of lacking) {
        try {
          await store.put(kind, name, bytes, options)
          report.copied++
        } catch (err) {
          if (options.signal?.aborted === true) throw err
          report.problems.push(`${store.id}: ${(err as Error).message}`)
        }
      }
    }
  }
  return report
}

export interface RecordCopies {
  kind: RecordKind
  /** records of this kind in force */
  records: number
  /** the fewest stores any of them is listed on (of the stores that listed in full) */
  minCopies: number
  /** stores that listed this kind in full */
  stores: number
}

/** How many stores list each record in force (health): a listing only, nothing fetched. */
export async function recordCopies (repo: Repository, options: { signal?: AbortSignal } = {}): Promise<RecordCopies[]> {
  const register = repo.register
  const wanted: Array<[RecordKind, string[]]> = [
    ['index', await register.recordNames('irec')],
    ['placement', await register.recordNames('prec')],
    ['forget', await register.recordNames('frec')],
    ['snapshot', (await register.snapshots()).map(s => s.name)]
  ]
  const out: RecordCopies[] = []
  for (const [kind, names] of wanted) {
    if (names.length === 0) continue
    const listings: Array<Set<string>> = []
    await Promise.all(repo.stores.map(async store => {
      const listed = await listNames([store], kind, options)
      if (listed.reached > 0) listings.push(new Set(listed.names))
    }))
    let min = Infinity
    for (const name of names) min = Math.min(min, listings.filter(l => l.has(name)).length)
    out.push({ kind, records: names.length, minCopies: min === Infinity ? 0 : min, stores: listings.length })
  }
  return out
}
