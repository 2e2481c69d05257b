import type { RepositoryKeys } from '../crypto/keys.js'
import { openRecord, sealRecord, type RecordKind } from '../format/records.js'
import { hashName, type ShardStore } from '../store/index.js'
import { listNames, type ListedNames, type ListLimits } from './record-list.js'
import { NotFoundError, RepositoryLockedError, StoreUnavailableError } from '../errors.js'

export interface CallOptions { signal?: AbortSignal }

/**
 * Record I/O: seals the small records (config, index, snapshot, forget under the repository key;
 * placement and lock under the node record key), puts them on every store (m + 1 must take one), lists
 * them within bounds and reads a copy whose bytes hash to its name.
 */
export class RecordIo {
  constructor (
    readonly stores: ShardStore[],
    /** records must reach this many stores more than one: m (the parity shards) */
    private readonly m: number,
    /** the repository's keys (throws RepositoryLockedError in a maintenance view) */
    private readonly keys: () => RepositoryKeys,
    /** the node record key, when the home has an identity */
    private readonly recordKey: () => Buffer | undefined
  ) {}

  /** The key a record of this kind is sealed with: placement records use the node's record key, the rest the repository's. */
  keyFor (kind: RecordKind): Uint8Array {
    if (kind !== 'placement' && kind !== 'lock') return this.keys().encryption
    const key = this.recordKey()
    if (key == null) throw new RepositoryLockedError('this home has no node identity: placement and lock records cannot be sealed or opened')
    return key
  }

  /** The keys a record of this kind may be sealed with: the repository's current and older epochs', or the node record key. */
  keysFor (kind: RecordKind): Uint8Array[] {
    if (kind === 'placement' || kind === 'lock') return [this.keyFor(kind)]
    const keys = this.keys()
    return [keys.encryption, ...(keys.older ?? []).map(k => k.encryption)]
  }

  /** Seals a small record and puts it on every store; it must reach at least m+1 of them. */
  async putRecord (kind: RecordKind, value: unknown, options: CallOptions = {}): Promise<string> {
    const bytes = sealRecord(this.keyFor(kind), kind, value)
    const name = hashName(bytes)
    const results = await Promise.allSettled(this.stores.map(async s => { await s.put(kind, name, bytes, options) }))
    const ok = results.filter(r => r.status === 'fulfilled').length
    const need = Math.min(this.stores.length, this.m + 1)
    if (ok < need) {
      const why = results.flatMap(r => r.status === 'rejected' ? [(r.reason as Error).message] : [])
      throw new StoreUnavailableError(`${kind} record reached ${ok} stores, needs ${need}: ${why.join('; ')}`)
    }
    return name
  }

  /** Seals a record and puts it on every store; reports each store's outcome (locks decide on a majority). */
  async putRecordEverywhere (kind: RecordKind, value: unknown, options: CallOptions = {}): Promise<{ name: string, stores: Array<{ store: string, error?: Error }> }> {
    const bytes = sealRecord(this.keyFor(kind), kind, value)
    const name = hashName(bytes)
    const results = await Promise.allSettled(this.stores.map(async s => { await s.put(kind, name, bytes, options) }))
    if (options.signal?.aborted === true) throw options.signal.reason
    return { name, stores: results.map((r, i) => ({ store: this.stores[i].id, ...(r.status === 'rejected' ? { error: r.reason as Error } : {}) })) }
  }

  /** The record names of one kind across the stores, each store within its limits (see record-list.ts). */
  async listRecordNames (kind: RecordKind, options: CallOptions & ListLimits = {}): Promise<ListedNames> {
    return await listNames(this.stores, kind, options)
  }

  /** The record names of one kind; StoreUnavailableError when no store answers in full. */
  async listRecords (kind: RecordKind, options: CallOptions = {}): Promise<string[]> {
    const listed = await this.listRecordNames(kind, options)
    if (listed.reached === 0) throw new StoreUnavailableError(`no store can be reached to list ${kind} records: ${listed.problems.join('; ')}`)
    return listed.names
  }

  /** A record's sealed bytes from the first store that holds them whole (checked against the name). */
  async getRecordBytes (kind: RecordKind, name: string, options: CallOptions = {}): Promise<Uint8Array> {
    const problems: string[] = []
    for (const s of this.stores) {
      try {
        const bytes = await s.get(kind, name, options)
        if (hashName(bytes) !== name) { problems.push(`${s.id}: corrupt`); continue }
        return bytes
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        problems.push(`${s.id}: ${(err as Error).message}`)
      }
    }
    throw new NotFoundError(`${kind} record ${name.slice(0, 12)} could not be read from any store: ${problems.join('; ')}`)
  }

  async getRecord<T> (kind: RecordKind, name: string, options: CallOptions = {}): Promise<T> {
    return openRecord<T>(this.keysFor(kind), kind, await this.getRecordBytes(kind, name, options))
  }
}
