import type { DamagedReport, GetOptions, ObjectKind, ProveAnswer, ProveRequest, ShardStore, StoreCallOptions, StoreRhythm, StoreUsage } from '../store/shard-store.js'
import { ByteBudget } from '../util/byte-budget.js'
import type { RateLimiter } from './rate-limiter.js'

/**
 * A store decorator (restic's rate-limited backend): shards going up wait for the upload budget before
 * they are sent, shards coming down are charged to the download budget as they arrive, and at most
 * `slots.capacity` shard transfers run at once over every store sharing `slots`. Small records (keys,
 * snapshots, index records) pass unthrottled, so that a slow link never stalls a session's commit.
 */
export class LimitedStore implements ShardStore {
  readonly id: string
  readonly label?: string
  readonly site?: string
  readonly reachable?: () => boolean
  readonly offlineSince?: () => number | undefined
  readonly rhythm?: () => StoreRhythm | undefined
  readonly freeBytes?: () => number | undefined
  readonly prove?: (kind: ObjectKind, name: string, request: ProveRequest, options?: StoreCallOptions) => Promise<ProveAnswer>
  readonly damaged?: (options?: StoreCallOptions) => Promise<DamagedReport[]>
  readonly quarantine?: (kind: ObjectKind, name: string, graceMs: number, options?: StoreCallOptions) => Promise<void>
  readonly release?: (kind: ObjectKind, name: string, options?: StoreCallOptions) => Promise<boolean>
  readonly purgeQuarantine?: (options?: StoreCallOptions) => Promise<number>

  constructor (readonly inner: ShardStore, private readonly limiter: RateLimiter | undefined, private readonly slots: ByteBudget | undefined) {
    this.id = inner.id
    this.label = inner.label
    this.site = inner.site
    if (inner.reachable != null) this.reachable = inner.reachable.bind(inner)
    if (inner.offlineSince != null) this.offlineSince = inner.offlineSince.bind(inner)
    if (inner.rhythm != null) this.rhythm = inner.rhythm.bind(inner)
    if (inner.freeBytes != null) this.freeBytes = inner.freeBytes.bind(inner)
    if (inner.prove != null) this.prove = inner.prove.bind(inner)
    if (inner.damaged != null) this.damaged = inner.damaged.bind(inner)
    // every optional operation of the inner store passes through (a missing one here silently changes
    // what prune and repair can do: the quarantine)
    if (inner.quarantine != null) this.quarantine = inner.quarantine.bind(inner)
    if (inner.release != null) this.release = inner.release.bind(inner)
    if (inner.purgeQuarantine != null) this.purgeQuarantine = inner.purgeQuarantine.bind(inner)
  }

  private async slot<T> (signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (this.slots == null) return await fn()
    await this.slots.acquire(1, signal)
    try { return await fn() } finally { this.slots.release(1) }
  }

  async put (kind: ObjectKind, name: string, data: Uint8Array, options: StoreCallOptions = {}): Promise<void> {
    if (kind !== 'shard') return await this.inner.put(kind, name, data, options)
    await this.slot(options.signal, async () => {
      await this.limiter?.upload(data.length, options.signal)
      await this.inner.put(kind, name, data, options)
    })
  }

  async get (kind: ObjectKind, name: string, options: GetOptions = {}): Promise<Uint8Array> {
    if (kind !== 'shard') return await this.inner.get(kind, name, options)
    return await this.slot(options.signal, async () => {
      const data = await this.inner.get(kind, name, options)
      await this.limiter?.download(data.length, options.signal)
      return data
    })
  }

  async has (kind: ObjectKind, name: string, options?: StoreCallOptions): Promise<boolean> { return await this.inner.has(kind, name, options) }
  list (kind: ObjectKind, options?: StoreCallOptions): AsyncIterable<string> { return this.inner.list(kind, options) }
  async delete (kind: ObjectKind, name: string, options?: StoreCallOptions): Promise<void> { await this.inner.delete(kind, name, options) }
  async usage (options?: StoreCallOptions): Promise<StoreUsage> { return await this.inner.usage(options) }
  async close (): Promise<void> { await this.inner.close() }
}

/** Wraps every store with the shared limiter and transfer slots (the stores themselves when neither applies). */
export function limitStores (stores: ShardStore[], limiter: RateLimiter | undefined, slots: ByteBudget | undefined): ShardStore[] {
  if ((limiter == null || !limiter.limited) && slots == null) return stores
  return stores.map(s => new LimitedStore(s, limiter?.limited === true ? limiter : undefined, slots))
}
