import type { Repository } from './repository.js'
import type { RecordKind } from '../format/records.js'
import { listNames } from './record-list.js'
import { hashName } from '../store/hash-name.js'
import { readFile } from 'node:fs/promises'
import { homePaths } from '../home/home.js'

export interface ReplicationReport {
  /** record copies put on stores that lacked them */
  copied: number
  /** record copies fetched and checked against their names (an audit of a sample) */
  verified: number
  /** copies that did not hash to their names: replaced by a good copy */
  replaced: number
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
export async function replicateRecords (repo: Repository, options: { signal?: AbortSignal, verifySample?: number, random?: () => number } = {}): Promise<ReplicationReport> {
  const register = repo.register
  const wanted: Array<[RecordKind, string[]]> = [
    ['index', await register.recordNames('irec')],
    ['placement', await register.recordNames('prec')],
    ['forget', await register.recordNames('frec')],
    ['snapshot', (await register.snapshots()).map(s => s.name)]
  ]
  const report: ReplicationReport = { copied: 0, verified: 0, replaced: 0, lost: [], problems: [] }
  // the sealed config too (kept in the home): a store paired later then holds all a recovery reads
  const config = await readFile(homePaths(repo.home).repoConfig).catch(() => undefined)
  if (config != null) {
    const name = hashName(config)
    await Promise.all(repo.stores.map(async store => {
      if (store.reachable?.() === false) return
      try {
        if (!await store.has('config', name, options)) { await store.put('config', name, config, options); report.copied++ }
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        report.problems.push(`${store.id}: ${(err as Error).message}`)
      }
    }))
  }
  const held = new Map<RecordKind, Map<string, Set<string>>>()
  for (const [kind, names] of wanted) {
    if (names.length === 0) continue
    const byStore = new Map<string, Set<string>>()
    held.set(kind, byStore)
    await Promise.all(repo.stores.map(async store => {
      if (store.reachable?.() === false) return
      const listed = await listNames([store], kind, options)
      if (listed.reached === 0) { report.problems.push(...listed.problems); return }
      byStore.set(store.id, new Set(listed.names))
    }))
    for (const name of names) {
      const lacking = repo.stores.filter(s => byStore.get(s.id)?.has(name) === false)
      if (lacking.length === 0) continue
      let bytes: Uint8Array
      try { bytes = await repo.getRecordBytes(kind, name, options) } catch (err) {
        if (options.signal?.aborted === true) throw err
        if (lacking.length === byStore.size) report.lost.push({ kind, name })
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
  // an audit of a sample of the copies the stores list: each fetched whole and checked against its name
  const copies: Array<{ kind: RecordKind, name: string, store: string }> = []
  for (const [kind, byStore] of held) for (const [store, names] of byStore) for (const name of names) if (wantedNames(wanted, kind).has(name)) copies.push({ kind, name, store })
  const random = options.random ?? Math.random
  for (let i = copies.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [copies[i], copies[j]] = [copies[j], copies[i]] }
  for (const c of copies.slice(0, options.verifySample ?? 0)) {
    const store = repo.stores.find(s => s.id === c.store)!
    let good = false
    try { good = hashName(await store.get(c.kind, c.name, options)) === c.name } catch (err) {
      if (options.signal?.aborted === true) throw err
      if ((err as Error).name !== 'NotFoundError') continue // unreachable now: not a verdict
    }
    report.verified++
    if (good) continue
    try {
      const bytes = await repo.getRecordBytes(c.kind, c.name, options)
      // a store keeps the first copy of a name: the bad one goes first
      await store.delete(c.kind, c.name, options).catch(() => {})
      await store.put(c.kind, c.name, bytes, options)
      report.replaced++
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      report.problems.push(`${store.id}: ${c.kind} record ${c.name.slice(0, 12)} is damaged and could not be replaced: ${(err as Error).message}`)
    }
  }
  return report
}

function wantedNames (wanted: Array<[RecordKind, string[]]>, kind: RecordKind): Set<string> {
  return new Set(wanted.find(([k]) => k === kind)?.[1] ?? [])
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
