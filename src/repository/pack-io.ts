import { createCodec, type ErasureCodec } from '../erasure/index.js'
import { placePack, placeShards, siteLimitFor } from '../placement/index.js'
import { parseReputation, score } from '../audit/reputation.js'
import { hashName, type ShardStore } from '../store/index.js'
import { checkAbort } from '../util/check-abort.js'
import type { BuiltPack } from '../worker/crypto-worker.js'
import type { PackDescriptor, PackLayout } from '../format/format.js'
import type { Register } from './register.js'
import { firstK } from './first-k.js'
import { IntegrityError, NotFoundError, PackUnrecoverableError, PlacementError, StoreUnavailableError } from '../errors.js'

export interface CallOptions { signal?: AbortSignal }

/** Reading a pack's shards: `onBad` hears of each shard its recorded store is found to have lost or damaged. */
export interface ReadShardsOptions extends CallOptions { onBad?: (index: number, problem: string) => void }

/** What a backup does when the stores online cannot give a pack the spread over sites the rules ask. */
export interface PlacementPolicy { onShortfall: 'reduced' | 'wait', waitSeconds: number }

const PACK_CACHE_SIZE = 3

/**
 * Pack I/O: puts the shards of a pack on distinct stores by the placement rules, and reads a pack back
 * from its first k good shards (each verified against its name; stores that failed tried last, slow ones
 * hedged, the speed vault first). Keeps what it learns of the stores in one session: which failed, how
 * fast each reads. Knows the stores and the register; no keys.
 */
export class PackIo {
  private readonly packCache = new Map<string, Promise<Buffer>>()
  /** stores that failed a call in this session (and did not answer since): tried last */
  readonly failedStores = new Set<string>()
  /** each store's measured read time, ms per MiB (moving average over this session) */
  private readonly readSpeed = new Map<string, number>()
  /** stores' placement weights from their audit record (loaded once per session) */
  private reputations?: Promise<Map<string, number>>
  /** The speed vault: a local store that keeps a copy of every pack's k data shards, read first. */
  vault?: ShardStore
  /** Why the vault could not take a copy in this session, if it could not (the backup itself goes on). */
  vaultProblem?: string
  placementPolicy?: PlacementPolicy

  constructor (
    readonly stores: ShardStore[],
    private readonly register: Register,
    readonly codec: ErasureCodec,
    /** the repository's segment size (Merkle leaves of a shard), for the descriptors of new packs */
    private readonly segmentSize: () => number
  ) {}

  storeById (id: string): ShardStore | undefined {
    return this.stores.find(s => s.id === id)
  }

  /**
   * The stores to ask for a shard: the one it was placed on; when that store is no longer configured
   * under that id (a disk mounted elsewhere, stores copied), every configured store.
   */
  storesFor (placedOn: string): ShardStore[] {
    const store = this.storeById(placedOn)
    return store != null ? [store] : this.stores
  }

  /**
   * Puts each shard of a built pack on a distinct store and returns the pack's descriptor. Stores are
   * ranked by rendezvous hashing; a shard whose store fails (offline, full) goes to the next store in the
   * ranking that holds nothing of this pack; a store that failed (until it answers again) or that is
   * known unreachable (an offline peer) is tried last; when no spare is left, a store that failed the shard
   * is asked once more. Fails only when fewer than k+m stores take a shard: never stores less redundancy than asked.
   */
  async storeBuilt (built: BuiltPack, options: CallOptions = {}): Promise<PackDescriptor> {
    const n = built.shards.length
    const healthy = this.stores.filter(s => !this.failedStores.has(s.id) && s.reachable?.() !== false)
    // first choice: the placement rules (distinct stores, at most m shards per site when there are enough
    // sites, weighted by reputation); spares: the other stores by rendezvous, healthy ones first
    const first = await this.placement(built.id, n, built.shardSize, healthy, options.signal)
    const ranked = [...first, ...placeShards(built.id, Math.min(n, healthy.length), healthy.map(s => s.id)),
      ...placeShards(built.id, this.stores.length, this.stores.map(s => s.id))]
    const order = [...new Set(ranked)]
    if (order.length < n) throw new PlacementError(`cannot place ${n} shards on distinct stores: only ${order.length} available`)
    let next = 0
    const placed: string[] = new Array(n)
    const problems: string[] = []
    next = first.length // the first choice of each shard is its own; the rest are spares, in order
    await Promise.all(built.shards.map(async (shard, i) => {
      let own: string | undefined = first[i]
      // the stores that failed this shard, asked once more when no spare is left: a connection cut in the
      // middle of a put or a peer restarting must not fail a session that a second try completes (each
      // store was handed to this shard alone, so a second try keeps the shards on distinct stores)
      const again: string[] = []
      let retrying = false
      for (;;) {
        if (own == null && next >= order.length) {
          if (again.length === 0) throw new PlacementError(`shard ${i} of pack ${built.id.slice(0, 12)} found no store: ${problems.join('; ')}`)
          own = again.shift()
          retrying = true
        }
        const id = own ?? order[next++]
        own = undefined
        try {
          await this.storeById(id)!.put('shard', built.names[i], shard, options)
          placed[i] = id
          if (retrying) this.failedStores.delete(id)
          return
        } catch (err) {
          if (options.signal?.aborted === true) throw err
          this.failedStores.add(id)
          problems.push(`${id}: ${(err as Error).message}`)
          if (!retrying) again.push(id)
        }
      }
    }))
    // the speed vault keeps the data shards (a restore then reads nothing else); its failure costs no data
    if (this.vault != null && this.vaultProblem == null) {
      try {
        for (let i = 0; i < this.codec.k; i++) await this.vault.put('shard', built.names[i], built.shards[i], options)
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        this.vaultProblem = (err as Error).message
      }
    }
    // a spread that breaks the site rule where the stores would allow it (a store failed and a spare took
    // its shard, or too few sites were up) is recorded: the pack is to be rebalanced
    const sites = new Map<string, number>()
    for (const id of placed) { const site = this.storeById(id)?.site ?? id; sites.set(site, (sites.get(site) ?? 0) + 1) }
    const allSites = new Set(this.stores.map(s => s.site ?? s.id)).size
    const limit = siteLimitFor(this.codec.k, this.codec.m, allSites)
    if (limit != null && Math.max(...sites.values()) > limit) await this.register.markRebalance(built.id, `${Math.max(...sites.values())} shards of the pack on one site, at most ${limit} wanted (a store failed and a spare took its shard)`)
    return {
      id: built.id,
      length: built.length,
      k: this.codec.k,
      m: this.codec.m,
      codec: this.codec.name,
      shardSize: built.shardSize,
      segmentSize: this.segmentSize(),
      shards: built.names.map((name, i) => ({ name, root: built.roots[i], store: placed[i] })),
      blobs: built.blobs
    }
  }

  /**
   * The placement rules' choice of stores for a new pack (src/placement/place-pack.ts): reputations from
   * the register (loaded once per session), room from the stores' hints (a peer's quota less what we keep
   * there; unlimited when unknown); the site rule relaxed when it cannot be met, the pack then marked for
   * rebalancing with the rule's reason. Empty when too few healthy stores remain for distinct placement
   * (the caller's spares then decide, as before).
   */
  private async placement (packId: string, n: number, shardBytes: number, healthy: ShardStore[], signal?: AbortSignal): Promise<string[]> {
    this.reputations ??= this.register.reputations().then(all => {
      const now = Date.now()
      const out = new Map<string, number>()
      for (const [id, rec] of all) { try { out.set(id, score(parseReputation(rec), now)) } catch {} }
      return out
    })
    const reps = await this.reputations
    const candidates = healthy.map(s => ({ id: s.id, site: s.site ?? s.id, freeBytes: s.freeBytes?.() ?? Number.MAX_SAFE_INTEGER, reputation: reps.get(s.id) ?? 1, online: true }))
    try {
      let p = placePack({ packId, k: this.codec.k, m: n - this.codec.k, shardBytes, candidates }, { onShortfall: 'reduced' })
      if (p.spread === 'reduced' && this.placementPolicy?.onShortfall === 'wait') {
        // wait for stores to come online until the full spread is possible, then fail with the reason
        const until = Date.now() + this.placementPolicy.waitSeconds * 1000
        while (p.spread === 'reduced') {
          if (Date.now() >= until) throw new PlacementError(`${p.reason ?? 'the pack cannot be spread over the sites as asked'} (waited ${this.placementPolicy.waitSeconds} s for more peers: placement.onShortfall is "wait")`)
          await new Promise(resolve => setTimeout(resolve, Math.min(2000, Math.max(0, until - Date.now()))))
          checkAbort(signal)
          const now = this.stores.filter(s => !this.failedStores.has(s.id) && s.reachable?.() !== false)
          p = placePack({ packId, k: this.codec.k, m: n - this.codec.k, shardBytes, candidates: now.map(s => ({ id: s.id, site: s.site ?? s.id, freeBytes: s.freeBytes?.() ?? Number.MAX_SAFE_INTEGER, reputation: reps.get(s.id) ?? 1, online: true })) }, { onShortfall: 'reduced' })
        }
      }
      if (p.spread === 'reduced') await this.register.markRebalance(packId, p.reason ?? 'spread over too few sites')
      return p.peers
    } catch (err) {
      if ((err instanceof PlacementError && !/placement.onShortfall is "wait"/.test(err.message)) || (err as Error).name === 'ConfigError') return []
      throw err
    }
  }

  /** Keeps a moving average of each store's read time per MiB, and forgives a store that answered. */
  private noteRead (storeId: string, bytes: number, ms: number): void {
    this.failedStores.delete(storeId)
    if (bytes < 4096) return
    const msPerMiB = ms * (1 << 20) / bytes
    const old = this.readSpeed.get(storeId)
    this.readSpeed.set(storeId, old == null ? msPerMiB : 0.7 * old + 0.3 * msPerMiB)
  }

  /**
   * Fetches a shard and verifies it against its name. Returns null (with the reason) when it is missing,
   * unreachable or corrupt, so that the caller can use another.
   */
  async fetchShard (desc: PackLayout, index: number, options: CallOptions = {}): Promise<{ data: Uint8Array | null, problem?: string, bad?: boolean }> {
    const info = desc.shards[index]
    const problems: string[] = []
    if (this.vault != null && index < desc.k) {
      try {
        const data = await this.vault.get('shard', info.name, options)
        if (data.length === desc.shardSize && hashName(data) === info.name) return { data }
      } catch (err) {
        if (options.signal?.aborted === true) throw err
      }
    }
    // the store it was placed on first; then the others, in case a repair moved it and this register
    // forgot (a rebuilt register knows the original placement only)
    const primary = this.storesFor(info.store)
    const candidates = primary.length === 1
      ? [primary[0], ...this.stores.filter(s => s !== primary[0] && !this.failedStores.has(s.id) && s.reachable?.() !== false)]
      : primary
    // the store the shard is recorded on answered, without the shard or with other bytes (not found elsewhere either)
    let bad = false
    for (const [at, store] of candidates.entries()) {
      const elsewhere = primary.length === 1 && at > 0
      const recorded = primary.length === 1 && at === 0
      try {
        const started = performance.now()
        const data = await store.get('shard', info.name, options)
        this.noteRead(store.id, data.length, performance.now() - started)
        if (data.length === desc.shardSize && hashName(data) === info.name) return { data }
        problems.push(`shard ${index} on ${store.id} is corrupt`)
        if (recorded) bad = true
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        const e = err as Error
        if (elsewhere && (e instanceof NotFoundError || e instanceof StoreUnavailableError)) continue
        if (e instanceof NotFoundError && recorded) bad = true
        if (e instanceof NotFoundError) problems.push(`shard ${index} is missing from ${store.id}`)
        else if (e instanceof StoreUnavailableError) { problems.push(`store ${store.id} is unavailable`); this.failedStores.add(store.id) }
        else problems.push(`shard ${index} on ${store.id}: ${e.message}`)
      }
    }
    return { data: null, problem: problems.length === 1 ? problems[0] : `shard ${index}: ${problems.join('; ')}`, bad }
  }

  /** The codec a pack was written with (the repository's own, unless the pack names another). */
  codecFor (desc: PackLayout): ErasureCodec {
    const c = this.codec
    return desc.codec === c.name && desc.k === c.k && desc.m === c.m ? c : createCodec(desc.codec, desc.k, desc.m)
  }

  /**
   * Reads a pack from the first k good shards, each verified against its name, and decodes it. Shards are
   * tried in the order of their stores' record in this session (stores that failed last, then the fastest
   * measured, data shards first among equals); a failed or corrupt shard starts the next one, and a slow
   * store gets a spare fetch started beside it after a delay (see first-k.ts).
   */
  async readPack (desc: PackLayout, options: CallOptions = {}): Promise<Buffer> {
    const got = await this.readShards(desc, options)
    const codec = this.codecFor(desc)
    const decoded = await codec.decode(got, desc.shardSize, desc.length, options)
    // Each shard used was checked against its name in the authenticated index, and every blob is
    // authenticated again when it is opened: hashing the whole pack once more (check --read-data does)
    // would only cost time here.
    return Buffer.isBuffer(decoded) ? decoded : Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength)
  }

  /**
   * The first k good shards of a pack, each verified against its name (null where not fetched), fetched
   * as readPack does. PackUnrecoverableError when fewer than k good shards can be had.
   */
  async readShards (desc: PackLayout, options: ReadShardsOptions = {}): Promise<Array<Uint8Array | null>> {
    const n = desc.shards.length
    const problems: string[] = []
    const order = this.shardOrder(desc)
    const results = await firstK(order, desc.k, async (i, signal) => {
      const r = await this.fetchShard(desc, i, { signal })
      if (r.data == null && !signal.aborted) problems.push(r.problem!)
      if (r.data == null && r.bad === true) options.onBad?.(i, r.problem!)
      return r.data
    }, { signal: options.signal, hedgeMs: this.hedgeMs(desc.shardSize), spares: desc.m })
    if (results.size < desc.k) throw new PackUnrecoverableError(`pack ${desc.id.slice(0, 12)} has ${results.size} good shards, needs ${desc.k}: ${problems.join('; ')}`)
    const got: Array<Uint8Array | null> = new Array(n).fill(null)
    for (const [i, data] of results) got[i] = data
    return got
  }

  /**
   * Regenerates the shards `indices` of a pack from k good ones (for repair). Reed-Solomon is
   * deterministic, so each regenerated shard must hash to the name recorded for it: one that does not is
   * an IntegrityError and is never returned.
   */
  async regenerateShards (desc: PackLayout, indices: number[], options: ReadShardsOptions = {}): Promise<Map<number, Uint8Array>> {
    const got = await this.readShards(desc, options)
    const all = await this.codecFor(desc).reconstruct(got, desc.shardSize, options)
    const out = new Map<number, Uint8Array>()
    for (const i of indices) {
      if (hashName(all[i]) !== desc.shards[i].name) throw new IntegrityError(`pack ${desc.id.slice(0, 12)}: regenerated shard ${i} does not match its recorded name`)
      out.set(i, all[i])
    }
    return out
  }

  /** The order in which to try a pack's shards: healthy stores before failed ones, faster before slower, data before parity. */
  private shardOrder (desc: PackLayout): number[] {
    // with a speed vault, the data shards are asked first (the vault has them, if it took this pack)
    if (this.vault != null) return [...Array.from({ length: desc.k }, (_, i) => i), ...Array.from({ length: desc.shards.length - desc.k }, (_, i) => desc.k + i)]
    const rank = desc.shards.map((s, i) => {
      const stores = this.storesFor(s.store)
      const failed = stores.every(st => this.failedStores.has(st.id) || st.reachable?.() === false) ? 1 : 0
      const speed = stores.length === 1 ? this.readSpeed.get(stores[0].id) : undefined
      // speeds within a factor of about 1.4 count as equal (a bucket), so data shards keep their edge
      const bucket = Math.round(2 * Math.log2(Math.max(1, speed ?? this.typicalMsPerMiB())))
      return { i, failed, bucket, parity: i >= desc.k ? 1 : 0 }
    })
    rank.sort((a, b) => a.failed - b.failed || a.bucket - b.bucket || a.parity - b.parity || a.i - b.i)
    return rank.map(r => r.i)
  }

  /** The median of the stores' measured read times (ms per MiB), or a guess when nothing was measured. */
  private typicalMsPerMiB (): number {
    const all = [...this.readSpeed.values()].sort((a, b) => a - b)
    return all.length === 0 ? 50 : all[all.length >> 1]
  }

  /** How long a shard fetch may take before a spare starts: 4x the typical time, at least 300 ms. */
  private hedgeMs (shardSize: number): number {
    return Math.max(300, 4 * this.typicalMsPerMiB() * shardSize / (1 << 20) + 100)
  }

  /** Forgets the packs kept for loadBlob (up to PACK_CACHE_SIZE whole packs), e.g. once a restore has read its trees. */
  dropPackCache (): void {
    this.packCache.clear()
  }

  async cachedPack (desc: PackLayout, options: CallOptions): Promise<Buffer> {
    let p = this.packCache.get(desc.id)
    if (p == null) {
      p = this.readPack(desc, options)
      this.packCache.set(desc.id, p)
      p.catch(() => this.packCache.delete(desc.id))
      while (this.packCache.size > PACK_CACHE_SIZE) this.packCache.delete(this.packCache.keys().next().value!)
    }
    return await p
  }
}
