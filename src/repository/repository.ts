import { randomBytes } from 'node:crypto'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { blobId, createKeyFile, KeyFile, parseKeyFile, RepositoryKeys, unlockKeyFile } from '../crypto/keys.js'
import { createCodec, ErasureCodec } from '../erasure/index.js'
import { DEFAULT_CHUNKER_PARAMS, validateChunkerParams } from '../chunking/index.js'
import { SEGMENT_SIZE } from '../audit/index.js'
import { placePack, placeShards, siteLimitFor } from '../placement/index.js'
import { parseReputation, score } from '../audit/reputation.js'
import { DirectoryStore, hashName, normalizeStoreSpec, openStore, ShardStore } from '../store/index.js'
import { checkAbort } from '../store/directory-store.js'
import { acquireLock, homePaths, readHomeConfig, writeFileAtomic, type LockOptions } from '../node/home.js'
import { WorkerPool } from '../worker/pool.js'
import type { BuiltPack, SealBatch, WorkerInit } from '../worker/crypto-worker.js'
import { openBlob, sealBlob } from './blob.js'
import type { SealedBlob } from './pack.js'
import { openRecord, RecordKind, sealRecord } from './records.js'
import { Register } from './register.js'
import { openRegister } from './open-register.js'
import { EphemeralRegister, fillEphemeral } from './ephemeral-register.js'
import { firstK } from './first-k.js'
import {
  BlobType, FORMAT_VERSION, HomeConfig, IndexBlob, IndexRecord, PackDescriptor, RepositoryConfig, SnapshotRecord, Tree
} from './format.js'
import {
  AbortedError, ConfigError, IntegrityError, RepositoryLockedError, NoSuchSnapshotError, NotFoundError, PackUnrecoverableError, PlacementError, RepositoryExistsError, StoreUnavailableError,
  UnsupportedFormatError, UsageError, WrongPassphraseError
} from '../errors.js'
import { CAUCHY_CODEC_NAME } from '../erasure/index.js'
import { ZSTD_DEFAULT_LEVEL } from '../compress/zstd.js'

export interface InitOptions {
  home: string
  /** directory stores; none: the shards go to the node's trusted peers */
  stores: string[]
  passphrase: string
  k?: number
  m?: number
  packSize?: number
}

export interface CallOptions { signal?: AbortSignal }

export interface OpenOptions extends CallOptions {
  /** the stores to use instead of those in holdfast.json (a peers repository: one store per trusted peer) */
  stores?: ShardStore[]
  /** Opens the key file with the passphrase (default unlockKeyFile; the daemon keeps keys it opened, see UnlockCache). */
  unlock?: (keyFile: KeyFile, passphrase: string) => Promise<RepositoryKeys>
  /** When the stores online cannot give a pack the spread over sites the rules ask: store it anyway and mark it ('reduced', the default), or wait for stores up to waitSeconds ('wait'). */
  placement?: { onShortfall: 'reduced' | 'wait', waitSeconds: number }
  /** The speed vault: a local store that keeps a copy of every pack's k data shards, read first. */
  vault?: ShardStore
  /** Decorates the stores (rate limits, transfer slots: src/bandwidth). */
  wrapStores?: (stores: ShardStore[]) => ShardStore[]
  /** The session only reads: it may run while another process writes (see openRegister). Never with `lock`. */
  readOnly?: boolean
  /** The session writes: the home's lock is taken for it before the register is opened, and held until close. */
  lock?: { what: string, wait?: number }
}

/** Index blobs hold at most this many blob entries (about 100 bytes of JSON each). */
const MAX_INDEX_BLOBS_PER_INDEX = 50_000
const PACK_CACHE_SIZE = 3

/**
 * The repository: keys, parameters, the stores and the register, and the operations every pipeline
 * stage shares (store a pack, read a pack verified from any k shards, records, the index).
 */
export class Repository {
  private readonly packCache = new Map<string, Promise<Buffer>>()
  /** stores that failed a call in this session (and did not answer since): tried last */
  private readonly failedStores = new Set<string>()
  /** each store's measured read time, ms per MiB (moving average over this session) */
  private readonly readSpeed = new Map<string, number>()
  private pool?: WorkerPool
  private closed = false
  private placementPolicy?: OpenOptions['placement']
  /** releases the home's lock this session holds (opened with OpenOptions.lock) */
  private releaseLock?: () => Promise<void>
  /** The speed vault, when configured (see OpenOptions.vault). */
  vault?: ShardStore
  /** Why the vault could not take a copy in this session, if it could not (the backup itself goes on). */
  vaultProblem?: string
  /** stores' placement weights from their audit record (loaded once per session) */
  private reputations?: Promise<Map<string, number>>

  private constructor (
    readonly home: string,
    readonly homeConfig: HomeConfig,
    private readonly sealedConfig: RepositoryConfig | undefined,
    private readonly unlockedKeys: RepositoryKeys | undefined,
    readonly stores: ShardStore[],
    readonly codec: ErasureCodec,
    readonly register: Register
  ) {}

  /** The repository's parameters (sealed with its keys: not available to a maintenance view). */
  get config (): RepositoryConfig {
    if (this.sealedConfig == null) throw new RepositoryLockedError('this needs the repository unlocked with its passphrase')
    return this.sealedConfig
  }

  get keys (): RepositoryKeys {
    if (this.unlockedKeys == null) throw new RepositoryLockedError('this needs the repository unlocked with its passphrase')
    return this.unlockedKeys
  }

  /**
   * A view for maintenance without the passphrase (the daemon's scheduled audits and repairs): the register
   * and the stores. Audits, health and repair need no key: shards are checked against the names and Merkle
   * roots in the register and regenerated from ciphertext. Anything that needs a key throws
   * RepositoryLockedError. The register must have been built by an unlocked open before.
   */
  static async openForMaintenance (home: string, options: { stores: ShardStore[] }): Promise<Repository> {
    const homeConfig = await readHomeConfig(home)
    const register = await openRegister(home)
    try {
      if (!await register.isBuilt()) throw new RepositoryLockedError(`the register of ${home} is not built yet: a command with the passphrase builds it`)
      const first = register.packs.values().next().value
      const codec = first != null ? createCodec(first.codec, first.k, first.m) : createCodec(CAUCHY_CODEC_NAME, 1, 1)
      return new Repository(home, homeConfig, undefined, undefined, options.stores, codec, register)
    } catch (err) {
      await register.close()
      throw err
    }
  }

  static async init (opts: InitOptions): Promise<{ id: string, config: RepositoryConfig }> {
    const k = opts.k ?? 4
    const m = opts.m ?? 2
    const codec = createCodec(CAUCHY_CODEC_NAME, k, m)
    const specs = [...new Set(opts.stores.map(normalizeStoreSpec))]
    const peers = specs.length === 0
    if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0 || k + m > 64) throw new ConfigError(`${k}+${m} is not a valid erasure code (k >= 1, m >= 0, k + m <= 64)`)
    if (!peers && specs.length < k + m) throw new ConfigError(`${k}+${m} needs ${k + m} distinct stores, ${specs.length} given`)
    const packSize = opts.packSize ?? 16 * 1024 * 1024
    if (!Number.isInteger(packSize) || packSize < 64 * 1024 || packSize > 256 * 1024 * 1024) throw new ConfigError('pack size must be between 64 KiB and 256 MiB')
    if (opts.passphrase.length === 0) throw new UsageError('the passphrase must not be empty')
    const paths = homePaths(opts.home)
    if (await exists(paths.config)) throw new RepositoryExistsError(`${opts.home} already holds a repository`)
    const stores: ShardStore[] = []
    for (const spec of specs) {
      const path = spec.slice(4)
      if (await exists(`${path}/config`) || await exists(`${path}/key`)) throw new RepositoryExistsError(`store ${spec} already holds a repository`)
      stores.push(await DirectoryStore.create(path))
    }
    validateChunkerParams(DEFAULT_CHUNKER_PARAMS)
    const { keyFile, keys } = await createKeyFile(opts.passphrase)
    const config: RepositoryConfig = {
      version: FORMAT_VERSION,
      id: randomBytes(16).toString('hex'),
      created: new Date().toISOString(),
      k,
      m,
      codec: codec.name,
      chunker: { ...DEFAULT_CHUNKER_PARAMS },
      packSize,
      compression: { codec: 'zstd', level: ZSTD_DEFAULT_LEVEL },
      segmentSize: SEGMENT_SIZE
    }
    const keyBytes = Buffer.from(JSON.stringify(keyFile, null, 2) + '\n')
    const configBytes = sealRecord(keys.encryption, 'config', config)
    for (const s of stores) {
      await s.put('key', hashName(keyBytes), keyBytes)
      await s.put('config', hashName(configBytes), configBytes)
    }
    await mkdir(opts.home, { recursive: true, mode: 0o700 })
    await writeFileAtomic(paths.key, keyBytes)
    await writeFileAtomic(paths.repoConfig, configBytes)
    const homeConfig: HomeConfig = { version: 1, repository: config.id, stores: specs, ...(peers ? { peers: true } : {}) }
    await writeFileAtomic(paths.config, JSON.stringify(homeConfig, null, 2) + '\n')
    const register = await Register.openShared(paths.register)
    await register.markBuilt()
    await register.close()
    return { id: config.id, config }
  }

  static async open (home: string, passphrase: string, options: OpenOptions = {}): Promise<Repository> {
    const homeConfig = await readHomeConfig(home)
    const paths = homePaths(home)
    if (homeConfig.peers === true && options.stores == null) {
      throw new ConfigError(`the repository in ${home} keeps its shards on peers: start its daemon (holdfast daemon --home ${home})`)
    }
    const opened = options.stores ?? homeConfig.stores.map(spec => openStore(spec, { verifyWrites: false }))
    const stores = options.wrapStores != null ? options.wrapStores(opened) : opened
    const keyFile = parseKeyFile(await readFile(paths.key))
    const keys = await (options.unlock ?? unlockKeyFile)(keyFile, passphrase)
    const config = await readLocalConfig(paths.repoConfig, keys) ?? await readConfig(stores, keys, options)
    if (config.id !== homeConfig.repository) throw new ConfigError(`the stores hold repository ${config.id}, not ${homeConfig.repository}`)
    const codec = createCodec(config.codec, config.k, config.m)
    if (options.readOnly === true && options.lock != null) throw new UsageError('a read-only session takes no lock')
    const started = Date.now()
    const releaseLock = options.lock != null ? await acquireLock(home, options.lock.what, { wait: options.lock.wait, signal: options.signal }) : undefined
    let repo: Repository | undefined
    try {
      const wait = Math.max(0, (options.lock?.wait ?? 0) - (Date.now() - started))
      const register = await openRegister(home, { readOnly: options.readOnly, holdsLock: releaseLock != null, wait, signal: options.signal })
      repo = new Repository(home, homeConfig, config, keys, stores, codec, register)
      repo.releaseLock = releaseLock
      repo.placementPolicy = options.placement
      repo.vault = options.vault
      if (register instanceof EphemeralRegister) await fillEphemeral(repo, options)
      else if (!await register.isBuilt()) await repo.rebuildIndex(options)
      return repo
    } catch (err) {
      if (repo != null) await repo.close()
      else await releaseLock?.()
      throw err
    }
  }

  /**
   * Takes the home's lock for `what` (backup, prune), unless this session holds it already (opened with
   * OpenOptions.lock). Returns its release.
   */
  async lock (what: string, options: LockOptions = {}): Promise<() => Promise<void>> {
    if (this.releaseLock != null) return async () => {}
    return await acquireLock(this.home, what, options)
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.pool?.stop()
    this.pool = undefined
    try {
      await this.register.close()
      await Promise.all([...this.stores, ...(this.vault != null ? [this.vault] : [])].map(async s => await s.close()))
    } finally {
      // after the register: a writer waiting for the lock then finds the register free too
      await this.releaseLock?.()
    }
  }

  /** The worker threads that seal blobs and build packs; started on first use. */
  workers (): WorkerPool {
    if (this.closed) throw new AbortedError('the repository is closed')
    if (this.pool == null) {
      const init: WorkerInit = {
        encKey: this.keys.encryption,
        level: this.config.compression.level,
        codec: this.config.codec,
        k: this.config.k,
        m: this.config.m,
        segmentSize: this.config.segmentSize,
        packSize: this.config.packSize
      }
      this.pool = new WorkerPool(new URL('../worker/crypto-worker.js', import.meta.url), init, workerCount())
      this.pool.start()
    }
    return this.pool
  }

  blobId (data: Uint8Array): Buffer {
    return blobId(this.keys.id, data)
  }

  /**
   * Seals a batch of blobs on a worker thread, into that worker's open pack. Returns the packs that the
   * batch filled (built and erasure-coded, not yet stored).
   */
  async sealBatch (items: Array<{ type: BlobType, id: Uint8Array, data: Uint8Array }>): Promise<BuiltPack[]> {
    let total = 0
    for (const it of items) total += it.data.length
    const data = Buffer.allocUnsafeSlow(total) // every byte is written below; own ArrayBuffer, so it can move to the worker
    const ids = new Uint8Array(items.length * 32)
    let at = 0
    items.forEach((it, i) => { data.set(it.data, at); at += it.data.length; ids.set(it.id, i * 32) })
    const batch: SealBatch = { types: items.map(i => i.type), ids, data, lengths: items.map(i => i.data.length) }
    return await this.workers().call<BuiltPack[]>('seal', batch, [data.buffer, ids.buffer])
  }

  /** Closes every worker's open pack (end of a session). */
  async flushWorkers (): Promise<BuiltPack[]> {
    if (this.pool == null) return []
    return (await this.pool.callAll<BuiltPack[]>('flush', null)).flat()
  }

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
   * known unreachable (an offline peer) is tried last. Fails only when fewer than k+m stores take a shard: never stores less redundancy than asked.
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
      for (;;) {
        if (own == null && next >= order.length) throw new PlacementError(`shard ${i} of pack ${built.id.slice(0, 12)} found no store: ${problems.join('; ')}`)
        const id = own ?? order[next++]
        own = undefined
        try {
          await this.storeById(id)!.put('shard', built.names[i], shard, options)
          placed[i] = id
          return
        } catch (err) {
          if (options.signal?.aborted === true) throw err
          this.failedStores.add(id)
          problems.push(`${id}: ${(err as Error).message}`)
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
      segmentSize: this.config.segmentSize,
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

  /**
   * Makes sure every reachable store holds the key file and the sealed config, so that any k+m of them
   * (with the passphrase) hold the whole repository. Peers paired after init receive them here.
   */
  async seedRecords (options: CallOptions = {}): Promise<void> {
    const paths = homePaths(this.home)
    const keyBytes = await readFile(paths.key)
    const configBytes = await readFile(paths.repoConfig).catch(() => undefined)
    await Promise.all(this.stores.map(async s => {
      try {
        if (!await s.has('key', hashName(keyBytes), options)) await s.put('key', hashName(keyBytes), keyBytes, options)
        if (configBytes != null && !await s.has('config', hashName(configBytes), options)) await s.put('config', hashName(configBytes), configBytes, options)
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        this.failedStores.add(s.id)
      }
    }))
  }

  /** Keeps a moving average of each store's read time per MiB, and forgives a store that answered. */
  private noteRead (storeId: string, bytes: number, ms: number): void {
    this.failedStores.delete(storeId)
    if (bytes < 4096) return
    const msPerMiB = ms * (1 << 20) / bytes
    const old = this.readSpeed.get(storeId)
    this.readSpeed.set(storeId, old == null ? msPerMiB : 0.7 * old + 0.3 * msPerMiB)
  }

  /** Hands a stored pack's buffers back to the worker that built it, for its next pack. */
  recycle (built: BuiltPack): void {
    if (built.worker < 0 || this.pool == null) return
    const data = built.shards[0].buffer as ArrayBuffer
    const parity = built.shards[this.codec.k].buffer as ArrayBuffer
    this.pool.callOn(built.worker, 'recycle', { data, parity }, [data, parity]).catch(() => {})
  }

  /** Builds a pack from blobs sealed on this thread (trees, index), erasure-codes it and stores it. */
  async storePack (blobs: SealedBlob[], options: CallOptions = {}): Promise<PackDescriptor> {
    const built = await this.workers().call<BuiltPack>('pack', { blobs })
    return await this.storeBuilt(built, options)
  }

  /**
   * Fetches a shard and verifies it against its name. Returns null (with the reason) when it is missing,
   * unreachable or corrupt, so that the caller can use another.
   */
  async fetchShard (desc: PackDescriptor, index: number, options: CallOptions = {}): Promise<{ data: Uint8Array | null, problem?: string }> {
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
    for (const [at, store] of candidates.entries()) {
      const elsewhere = primary.length === 1 && at > 0
      try {
        const started = performance.now()
        const data = await store.get('shard', info.name, options)
        this.noteRead(store.id, data.length, performance.now() - started)
        if (data.length === desc.shardSize && hashName(data) === info.name) return { data }
        problems.push(`shard ${index} on ${store.id} is corrupt`)
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        const e = err as Error
        if (elsewhere && (e instanceof NotFoundError || e instanceof StoreUnavailableError)) continue
        if (e instanceof NotFoundError) problems.push(`shard ${index} is missing from ${store.id}`)
        else if (e instanceof StoreUnavailableError) { problems.push(`store ${store.id} is unavailable`); this.failedStores.add(store.id) }
        else problems.push(`shard ${index} on ${store.id}: ${e.message}`)
      }
    }
    return { data: null, problem: problems.length === 1 ? problems[0] : `shard ${index}: ${problems.join('; ')}` }
  }

  /** The codec a pack was written with (the repository's own, unless the pack names another). */
  codecFor (desc: PackDescriptor): ErasureCodec {
    const c = this.codec
    return desc.codec === c.name && desc.k === c.k && desc.m === c.m ? c : createCodec(desc.codec, desc.k, desc.m)
  }

  /**
   * Reads a pack from the first k good shards, each verified against its name, and decodes it. Shards are
   * tried in the order of their stores' record in this session (stores that failed last, then the fastest
   * measured, data shards first among equals); a failed or corrupt shard starts the next one, and a slow
   * store gets a spare fetch started beside it after a delay (see first-k.ts).
   */
  async readPack (desc: PackDescriptor, options: CallOptions = {}): Promise<Buffer> {
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
  async readShards (desc: PackDescriptor, options: CallOptions = {}): Promise<Array<Uint8Array | null>> {
    const n = desc.shards.length
    const problems: string[] = []
    const order = this.shardOrder(desc)
    const results = await firstK(order, desc.k, async (i, signal) => {
      const r = await this.fetchShard(desc, i, { signal })
      if (r.data == null && !signal.aborted) problems.push(r.problem!)
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
  async regenerateShards (desc: PackDescriptor, indices: number[], options: CallOptions = {}): Promise<Map<number, Uint8Array>> {
    const got = await this.readShards(desc, options)
    const all = await this.codecFor(desc).reconstruct(got, desc.shardSize, options)
    const out = new Map<number, Uint8Array>()
    for (const i of indices) {
      if (hashName(all[i]) !== desc.shards[i].name) throw new IntegrityError(`pack ${desc.id.slice(0, 12)}: regenerated shard ${i} does not match its recorded name`)
      out.set(i, all[i])
    }
    return out
  }

  /** Records that shard `index` of a pack now lives on `store` (after a repair placed it there). */
  async relocateShard (desc: PackDescriptor, index: number, store: string): Promise<PackDescriptor> {
    const updated: PackDescriptor = { ...desc, shards: desc.shards.map((s, i) => i === index ? { ...s, store } : s) }
    await this.register.updatePack(updated)
    return updated
  }

  /** The order in which to try a pack's shards: healthy stores before failed ones, faster before slower, data before parity. */
  private shardOrder (desc: PackDescriptor): number[] {
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

  private async cachedPack (desc: PackDescriptor, options: CallOptions): Promise<Buffer> {
    let p = this.packCache.get(desc.id)
    if (p == null) {
      p = this.readPack(desc, options)
      this.packCache.set(desc.id, p)
      p.catch(() => this.packCache.delete(desc.id))
      while (this.packCache.size > PACK_CACHE_SIZE) this.packCache.delete(this.packCache.keys().next().value!)
    }
    return await p
  }

  /**
   * Loads one blob, verified. Ids are keyed hashes of the plaintext whatever the blob's type, so a chunk
   * whose bytes equal a tree's JSON is stored once and found under either type: the blob is opened with
   * the type it was sealed with, and its id check proves the bytes.
   */
  async loadBlob (id: string, options: CallOptions = {}): Promise<Buffer> {
    const loc = this.register.blobs.get(id)
    if (loc == null) throw new NotFoundError(`blob ${id.slice(0, 12)} is not in the index`)
    const pack = await this.cachedPack(this.register.packs.get(loc.pack)!, options)
    return openBlob(this.keys, loc.type, id, pack.subarray(loc.offset, loc.offset + loc.length), loc.rawLength)
  }

  async loadTree (id: string, options: CallOptions = {}): Promise<Tree> {
    const cached = await this.register.getTree(id)
    if (cached != null) return cached
    const tree = JSON.parse((await this.loadBlob(id, options)).toString('utf8')) as Tree
    if (tree.v !== 1 || !Array.isArray(tree.nodes)) throw new UnsupportedFormatError(`tree ${id.slice(0, 12)} has an unknown format`)
    await this.register.putTrees([[id, tree]])
    return tree
  }

  /** Seals a small record and puts it on every store; it must reach at least m+1 of them. */
  async putRecord (kind: RecordKind, value: unknown, options: CallOptions = {}): Promise<string> {
    const bytes = sealRecord(this.keys.encryption, kind, value)
    const name = hashName(bytes)
    const results = await Promise.allSettled(this.stores.map(async s => { await s.put(kind, name, bytes, options) }))
    const ok = results.filter(r => r.status === 'fulfilled').length
    const need = Math.min(this.stores.length, this.config.m + 1)
    if (ok < need) {
      const why = results.flatMap(r => r.status === 'rejected' ? [(r.reason as Error).message] : [])
      throw new StoreUnavailableError(`${kind} record reached ${ok} stores, needs ${need}: ${why.join('; ')}`)
    }
    return name
  }

  async listRecords (kind: RecordKind, options: CallOptions = {}): Promise<string[]> {
    const names = new Set<string>()
    let reached = 0
    for (const s of this.stores) {
      try {
        for await (const n of s.list(kind, options)) names.add(n)
        reached++
      } catch (err) {
        if (options.signal?.aborted === true) throw err
      }
    }
    if (reached === 0) throw new StoreUnavailableError('no store can be reached')
    return [...names].sort()
  }

  async getRecord<T> (kind: RecordKind, name: string, options: CallOptions = {}): Promise<T> {
    const problems: string[] = []
    for (const s of this.stores) {
      try {
        const bytes = await s.get(kind, name, options)
        if (hashName(bytes) !== name) { problems.push(`${s.id}: corrupt`); continue }
        return openRecord<T>(this.keys.encryption, kind, bytes)
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        problems.push(`${s.id}: ${(err as Error).message}`)
      }
    }
    throw new NotFoundError(`${kind} record ${name.slice(0, 12)} could not be read from any store: ${problems.join('; ')}`)
  }

  /**
   * Writes index blobs for every pack stored but not yet indexed, packs them, and commits them with an
   * index record on the stores. Called before a snapshot is committed.
   */
  async writeIndex (options: CallOptions = {}): Promise<string | undefined> {
    const pending = await this.register.pendingPacks()
    if (pending.length === 0) return undefined
    const groups: PackDescriptor[][] = [[]]
    let count = 0
    for (const d of pending) {
      if (count + d.blobs.length > MAX_INDEX_BLOBS_PER_INDEX && groups[groups.length - 1].length > 0) { groups.push([]); count = 0 }
      groups[groups.length - 1].push(d)
      count += d.blobs.length
    }
    const sealed: SealedBlob[] = groups.map(packs => {
      const plain = Buffer.from(JSON.stringify({ v: 1, packs } satisfies IndexBlob))
      const id = this.blobId(plain)
      return { type: 'index', id: id.toString('hex'), sealed: sealBlob(this.keys.encryption, 'index', id, plain, this.config.compression.level), rawLength: plain.length }
    })
    const indexPack = await this.storePack(sealed, options)
    const record: IndexRecord = { v: 1, created: new Date().toISOString(), packs: [indexPack] }
    const name = await this.putRecord('index', record, options)
    await this.register.addPacks([indexPack], false, true)
    await this.register.markIndexed(name, pending.map(p => p.id))
    return name
  }

  /** Rebuilds the register from the stores: index records, the index packs they name, snapshots. */
  async rebuildIndex (options: CallOptions = {}): Promise<{ packs: number, blobs: number, snapshots: number }> {
    await this.register.clear()
    for (const name of await this.listRecords('index', options)) {
      const record = await this.getRecord<IndexRecord>('index', name, options)
      for (const desc of record.packs) {
        const pack = await this.readPack(desc, options)
        for (const [type, id, offset, length, rawLength] of desc.blobs) {
          if (type !== 'index') continue
          const blob = JSON.parse(openBlob(this.keys, 'index', id, pack.subarray(offset, offset + length), rawLength).toString('utf8')) as IndexBlob
          await this.register.addPacks(blob.packs, false)
        }
      }
      await this.register.addPacks(record.packs, false)
      await this.register.markIndexed(name, [])
    }
    const snaps = await this.listRecords('snapshot', options)
    for (const name of snaps) await this.register.putSnapshot(name, await this.getRecord<SnapshotRecord>('snapshot', name, options))
    await this.register.markBuilt()
    return { packs: this.register.packs.size, blobs: this.register.blobs.size, snapshots: snaps.length }
  }

  async commitSnapshot (snap: SnapshotRecord, options: CallOptions = {}): Promise<string> {
    const name = await this.putRecord('snapshot', snap, options)
    await this.register.putSnapshot(name, snap)
    return name
  }

  /** Finds a snapshot by name prefix or `latest`. */
  async findSnapshot (ref: string): Promise<{ name: string, snapshot: SnapshotRecord }> {
    const all = await this.register.snapshots()
    if (ref === 'latest') {
      const last = all[all.length - 1]
      if (last == null) throw new NoSuchSnapshotError('the repository has no snapshots yet')
      return last
    }
    const matches = all.filter(s => s.name.startsWith(ref))
    if (ref.length < 4 || matches.length === 0) throw new NoSuchSnapshotError(`no snapshot ${ref}`)
    if (matches.length > 1) throw new NoSuchSnapshotError(`snapshot prefix ${ref} is ambiguous`)
    return matches[0]
  }
}

/** The home's copy of the sealed config (absent in homes made before it was kept, or recovered ones). */
async function readLocalConfig (path: string, keys: RepositoryKeys): Promise<RepositoryConfig | undefined> {
  let bytes: Buffer
  try { bytes = await readFile(path) } catch { return undefined }
  const config = openRecord<RepositoryConfig>(keys.encryption, 'config', bytes)
  if (config.version !== FORMAT_VERSION) throw new UnsupportedFormatError(`repository format ${config.version} is not supported by this version (reads ${FORMAT_VERSION})`)
  return config
}

async function readConfig (stores: ShardStore[], keys: RepositoryKeys, options: CallOptions): Promise<RepositoryConfig> {
  const problems: string[] = []
  for (const s of stores) {
    try {
      for await (const name of s.list('config', options)) {
        const bytes = await s.get('config', name, options)
        if (hashName(bytes) !== name) { problems.push(`${s.id}: config corrupt`); continue }
        const config = openRecord<RepositoryConfig>(keys.encryption, 'config', bytes)
        if (config.version !== FORMAT_VERSION) throw new UnsupportedFormatError(`repository format ${config.version} is not supported by this version (reads ${FORMAT_VERSION})`)
        return config
      }
    } catch (err) {
      if (err instanceof UnsupportedFormatError || err instanceof WrongPassphraseError) throw err
      problems.push(`${s.id}: ${(err as Error).message}`)
    }
  }
  throw new StoreUnavailableError(`the repository config could not be read from any store: ${problems.join('; ') || 'none found'}`)
}

/** Worker threads for sealing and packing: one per core, or HOLDFAST_WORKERS. */
export function workerCount (): number {
  const n = Number(process.env.HOLDFAST_WORKERS)
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : Math.max(1, availableParallelism())
}

async function exists (path: string): Promise<boolean> {
  try { await stat(path); return true } catch { return false }
}

