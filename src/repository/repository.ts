import { randomBytes } from 'node:crypto'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { blobId, createKeyFile, KeyFile, parseKeyFile, RepositoryKeys, serializeKeyFile, unlockKeyFile } from '../crypto/keys.js'
import { createCodec, ErasureCodec } from '../erasure/index.js'
import { DEFAULT_CHUNKER_PARAMS, validateChunkerParams } from '../chunking/index.js'
import { SEGMENT_SIZE } from '../audit/index.js'
import { DirectoryStore, hashName, normalizeStoreSpec, openStore, ShardStore } from '../store/index.js'
import { acquireLock, homePaths, readHomeConfig, type LockOptions } from '../home/home.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import { WorkerPool } from '../worker/pool.js'
import type { BuiltPack, SealBatch, WorkerInit } from '../worker/crypto-worker.js'
import { openBlob } from '../format/blob.js'
import type { SealedBlob } from '../format/pack.js'
import { RecordKind, sealRecord } from '../format/records.js'
import { Register } from './register.js'
import type { ListedNames, ListLimits } from './record-list.js'
import { rebuildRegister, type RebuildResult } from './rebuild.js'
import { loadNodeRecordKey } from './node-record-key.js'
import { adoptNewerKeyFile, kitEscrowSealer, syncKeyRecord, syncSealedKeyFile } from './key-record.js'
import { kitSecretOf } from '../crypto/kit-escrow.js'
import { identityPath } from '../node/identity.js'
import { describeFilter, matchesFilter, type SnapshotFilter } from './snapshot-filter.js'
import { PackIo, type ReadShardsOptions } from './pack-io.js'
import { RecordIo } from './record-io.js'
import { readConfig, readLocalConfig } from './repository-config.js'
import { replicateRecords, type ReplicationReport } from './replicate-records.js'
import { openRegister } from './open-register.js'
import { EphemeralRegister, fillEphemeral } from './ephemeral-register.js'
import {
  BlobType, FORMAT_VERSION, HomeConfig, IndexRecord, PackDescriptor, PlacementMove, PlacementRecord, RepositoryConfig, SnapshotRecord, Tree, PackLayout } from '../format/format.js'
import {
  AbortedError, ConfigError, RepositoryLockedError, NoSuchSnapshotError, NotFoundError, RepositoryExistsError,
  UnsupportedFormatError, UsageError
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
  /** memory of the passphrase's key derivation (bytes; default 128 MiB: see crypto/kdf.ts) */
  kdfMemory?: number
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
  /** How locks on the stores go stale, are refreshed, and how long a writer waits for one (ms). */
  locks?: { staleMs?: number, refreshMs?: number, waitMs?: number }
  /** The session only reads: it may run while another process writes (see openRegister). Never with `lock`. */
  readOnly?: boolean
  /** The session writes: the home's lock is taken for it before the register is opened, and held until close. */
  lock?: { what: string, wait?: number }
}

/** Index records hold at most this many blob entries (about 100 bytes of JSON each: records stay under 8 MiB). */
const MAX_INDEX_BLOBS_PER_INDEX = 40_000

/**
 * The repository: a session on one home's repository. It holds the keys, the parameters, the stores and
 * the register, and hands the work to role objects a newcomer finds by name: pack I/O (pack-io.ts),
 * records (record-io.ts), rebuilding the register (rebuild.ts), copying records (replicate-records.ts),
 * locks (repository-lock.ts). What stays here: opening and creating, the worker threads, the index and
 * snapshots. The methods that only hand a call to a role object keep the pipelines' calls short.
 */
export class Repository {
  private pool?: WorkerPool
  private closed = false
  /** Putting and reading packs (placement, verification, the speed vault). */
  readonly packIo: PackIo
  /** Sealing, putting, listing and reading records. */
  readonly records: RecordIo
  /** The key that seals placement records (from the node's identity; absent in a home without one). */
  recordKey?: Buffer
  /** How locks on the stores go stale and are refreshed (the node config's locks section). */
  lockSettings: { staleMs?: number, refreshMs?: number, waitMs?: number } = {}
  /** releases the home's lock this session holds (opened with OpenOptions.lock) */
  private releaseLock?: () => Promise<void>

  private constructor (
    readonly home: string,
    readonly homeConfig: HomeConfig,
    private readonly sealedConfig: RepositoryConfig | undefined,
    private readonly unlockedKeys: RepositoryKeys | undefined,
    readonly stores: ShardStore[],
    readonly codec: ErasureCodec,
    readonly register: Register
  ) {
    this.packIo = new PackIo(stores, register, codec, () => this.config.segmentSize)
    this.records = new RecordIo(stores, codec.m, () => this.keys, () => this.recordKey)
  }

  /** The speed vault, when configured (see OpenOptions.vault). */
  get vault (): ShardStore | undefined { return this.packIo.vault }
  set vault (store: ShardStore | undefined) { this.packIo.vault = store }

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
      const repo = new Repository(home, homeConfig, undefined, undefined, options.stores, codec, register)
      repo.recordKey = await loadNodeRecordKey(home, homeConfig.repository)
      return repo
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
    const { keyFile, keys } = await createKeyFile(opts.passphrase, undefined, opts.kdfMemory)
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
    const keyBytes = serializeKeyFile(keyFile)
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
    // a device follows its owner's key changes (a rotation) through the key record on the stores
    if (homeConfig.owner != null) await adoptNewerKeyFile(home, stores, passphrase, { signal: options.signal, unlock: options.unlock })
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
      // a second device reads a repository its owner writes: its register is built from the records at each
      // opening (the owner's new snapshots, prunes and repairs are seen at once)
      const register = homeConfig.owner != null
        ? await EphemeralRegister.create(home)
        : await openRegister(home, { readOnly: options.readOnly, holdsLock: releaseLock != null, wait, signal: options.signal })
      repo = new Repository(home, homeConfig, config, keys, stores, codec, register)
      repo.releaseLock = releaseLock
      repo.packIo.placementPolicy = options.placement
      repo.vault = options.vault
      repo.lockSettings = { ...options.locks, ...(options.lock?.wait != null ? { waitMs: options.lock.wait } : {}) }
      repo.recordKey = await loadNodeRecordKey(home, config.id)
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

  storeById (id: string): ShardStore | undefined { return this.packIo.storeById(id) }
  storesFor (placedOn: string): ShardStore[] { return this.packIo.storesFor(placedOn) }
  /** Puts a built pack's shards on distinct stores (see PackIo.storeBuilt). */
  async storeBuilt (built: BuiltPack, options: CallOptions = {}): Promise<PackDescriptor> { return await this.packIo.storeBuilt(built, options) }
  /** A pack read from its first k good shards, verified and decoded (see PackIo.readPack). */
  async readPack (desc: PackLayout, options: CallOptions = {}): Promise<Buffer> { return await this.packIo.readPack(desc, options) }
  async readShards (desc: PackLayout, options: ReadShardsOptions = {}): Promise<Array<Uint8Array | null>> { return await this.packIo.readShards(desc, options) }
  async fetchShard (desc: PackLayout, index: number, options: CallOptions = {}): Promise<{ data: Uint8Array | null, problem?: string }> { return await this.packIo.fetchShard(desc, index, options) }
  async regenerateShards (desc: PackLayout, indices: number[], options: ReadShardsOptions = {}): Promise<Map<number, Uint8Array>> { return await this.packIo.regenerateShards(desc, indices, options) }
  codecFor (desc: PackLayout): ErasureCodec { return this.packIo.codecFor(desc) }
  /** Forgets the packs kept for loadBlob (up to three whole packs), e.g. once a restore has read its trees. */
  dropPackCache (): void { this.packIo.dropPackCache() }

  /** Seals a record and puts it on every store; it must reach at least m+1 of them (see RecordIo). */
  async putRecord (kind: RecordKind, value: unknown, options: CallOptions = {}): Promise<string> { return await this.records.putRecord(kind, value, options) }
  async putRecordEverywhere (kind: RecordKind, value: unknown, options: CallOptions = {}): Promise<{ name: string, stores: Array<{ store: string, error?: Error }> }> { return await this.records.putRecordEverywhere(kind, value, options) }
  async listRecordNames (kind: RecordKind, options: CallOptions & ListLimits = {}): Promise<ListedNames> { return await this.records.listRecordNames(kind, options) }
  async listRecords (kind: RecordKind, options: CallOptions = {}): Promise<string[]> { return await this.records.listRecords(kind, options) }
  async getRecordBytes (kind: RecordKind, name: string, options: CallOptions = {}): Promise<Uint8Array> { return await this.records.getRecordBytes(kind, name, options) }
  async getRecord<T> (kind: RecordKind, name: string, options: CallOptions = {}): Promise<T> { return await this.records.getRecord<T>(kind, name, options) }

  /**
   * Makes sure every reachable store holds the sealed config and a copy of every record in force
   * (replicate-records.ts), the owner's own directory stores the key file, and every store the key record
   * (the key file sealed under the repository's keys, key-record.ts), so that the stores hold what a
   * recovery needs beside the passphrase and the recovery kit. Peers paired after init receive them here.
   * Peers never receive the plain key file (see docs/ARCHITECTURE.md, threat model).
   */
  async seedRecords (options: CallOptions = {}): Promise<ReplicationReport> {
    const paths = homePaths(this.home)
    const keyBytes = await readFile(paths.key)
    const keyName = hashName(keyBytes)
    const generation = parseKeyFile(keyBytes).generation
    const configBytes = await readFile(paths.repoConfig).catch(() => undefined)
    const kitHoldsKey = await exists(paths.kitHoldsKey)
    // the owner's hosts keep the key file sealed for its recovery kits too (crypto/kit-escrow.ts); a device has no kit
    const escrow = this.homeConfig.peers === true && this.homeConfig.owner == null
      ? await readFile(identityPath(this.home)).then(id => kitEscrowSealer(kitSecretOf(id)), () => undefined)
      : undefined
    await Promise.all(this.stores.map(async s => {
      try {
        // the wrapped key goes only to the owner's own directories: a peer holding it could try
        // passphrases offline
        if (isOwnStore(s)) await storeKeyFile(s, keyBytes, generation, options)
        if (configBytes != null && !await s.has('config', hashName(configBytes), options)) await s.put('config', hashName(configBytes), configBytes, options)
        // the key file sealed under the repository's keys, on every store (key-record.ts), and for the kits
        await syncKeyRecord(s, this.keys, keyBytes, generation, options)
        if (escrow != null && !isOwnStore(s)) await syncSealedKeyFile(s, escrow, keyBytes, generation, options)
        // older versions gave peers the plain key file; once a recovery kit is made, those copies go, but
        // only after the sealed copies above are on that peer (a failure before leaves the plain one)
        if (!isOwnStore(s) && kitHoldsKey && await s.has('key', keyName, options)) await s.delete('key', keyName, options)
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        this.packIo.failedStores.add(s.id)
      }
    }))
    return await replicateRecords(this, options)
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

  /** Records that shard `index` of a pack now lives on `store` (after a repair placed it there). */
  async relocateShard (desc: PackLayout, index: number, store: string): Promise<PackLayout> {
    const updated: PackLayout = { ...desc, shards: desc.shards.map((s, i) => i === index ? { ...s, store } : s) }
    await this.register.updatePack(updated)
    return updated
  }

  /**
   * Loads one blob, verified. Ids are keyed hashes of the plaintext whatever the blob's type, so a chunk
   * whose bytes equal a tree's JSON is stored once and found under either type: the blob is opened with
   * the type it was sealed with, and its id check proves the bytes.
   */
  async loadBlob (id: string, options: CallOptions = {}): Promise<Buffer> {
    const loc = this.register.blobs.get(id)
    if (loc == null) throw new NotFoundError(`blob ${id.slice(0, 12)} is not in the index`)
    const pack = await this.packIo.cachedPack(this.register.packs.get(loc.pack)!, options)
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

  /**
   * Commits shards' new places (after a repair or a rebalancing put them there and they passed their
   * audit) as a placement record on the stores, so that a register rebuilt from the stores knows them.
   * Must succeed before the old copies are deleted.
   */
  async recordPlacement (moves: PlacementMove[], options: CallOptions = {}): Promise<string | undefined> {
    if (moves.length === 0) return undefined
    const record: PlacementRecord = { v: 1, created: new Date().toISOString(), moves }
    const name = await this.putRecord('placement', record, options)
    await this.register.addRecordNames('prec', [name])
    return name
  }

  /**
   * Writes index blobs for every pack stored but not yet indexed, packs them, and commits them with an
   * index record on the stores. Called before a snapshot is committed.
   */
  async writeIndex (options: CallOptions & { supersedes?: string[], forgotten?: string[] } = {}): Promise<string[]> {
    const pending = await this.register.pendingPacks()
    if (pending.length === 0 && (options.supersedes ?? []).length === 0) return []
    // the descriptors go into the records themselves (inline), so that any one copy of the index
    // records, on any store, gives the whole index: a register can be rebuilt from a single peer
    const groups: PackDescriptor[][] = [[]]
    let count = 0
    for (const d of pending) {
      if (count + d.blobs.length > MAX_INDEX_BLOBS_PER_INDEX && groups[groups.length - 1].length > 0) { groups.push([]); count = 0 }
      groups[groups.length - 1].push(d)
      count += d.blobs.length
    }
    const created = new Date().toISOString()
    const names: string[] = []
    for (const entries of groups) {
      const record: IndexRecord = {
        v: 1,
        created,
        packs: [],
        entries,
        // every record of a generation names what it supersedes: any one of them read is enough
        ...(options.supersedes != null && options.supersedes.length > 0 ? { supersedes: [...options.supersedes].sort() } : {}),
        ...(options.forgotten != null && options.forgotten.length > 0 ? { forgotten: [...options.forgotten].sort() } : {})
      }
      const name = await this.putRecord('index', record, options)
      await this.register.markIndexed(name, entries.map(p => p.id))
      names.push(name)
    }
    return names
  }


  /**
   * Rebuilds the register from the records on the stores (see rebuild.ts): what cannot be read is
   * skipped with a warning and leaves the register marked incomplete, which prune refuses.
   */
  async rebuildIndex (options: CallOptions & ListLimits = {}): Promise<RebuildResult> {
    return await rebuildRegister(this, options)
  }

  async commitSnapshot (snap: SnapshotRecord, options: CallOptions = {}): Promise<string> {
    const name = await this.putRecord('snapshot', snap, options)
    await this.register.putSnapshot(name, snap)
    return name
  }

  /** Finds a snapshot by name prefix or `latest`. */
  /**
   * A snapshot by id (a prefix of 4 characters or more) or `latest`: the newest one, or with `filter` the
   * newest that matches it (a path it holds, its host, its tags). A snapshot named by id is taken as it is.
   */
  async findSnapshot (ref: string, filter: SnapshotFilter = {}): Promise<{ name: string, snapshot: SnapshotRecord }> {
    const all = await this.register.snapshots()
    if (ref === 'latest') {
      if (all.length === 0) throw new NoSuchSnapshotError('the repository has no snapshots yet')
      const last = all.filter(s => matchesFilter(s.snapshot, filter)).pop()
      if (last == null) throw new NoSuchSnapshotError(`no snapshot matches ${describeFilter(filter)}`)
      return last
    }
    const matches = all.filter(s => s.name.startsWith(ref))
    if (ref.length < 4 || matches.length === 0) throw new NoSuchSnapshotError(`no snapshot ${ref}`)
    if (matches.length > 1) throw new NoSuchSnapshotError(`snapshot prefix ${ref} is ambiguous`)
    return matches[0]
  }
}

/** A store under the owner's own control (a local directory), which may keep the wrapped key; not a peer. */
export function isOwnStore (store: ShardStore): boolean {
  return store.id.startsWith('dir:')
}

/** Worker threads for sealing and packing: one per core, or HOLDFAST_WORKERS. */
export function workerCount (): number {
  const n = Number(process.env.HOLDFAST_WORKERS)
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : Math.max(1, availableParallelism())
}

async function exists (path: string): Promise<boolean> {
  try { await stat(path); return true } catch { return false }
}

/** Puts the home's key file on an own store (unless there) and removes the older ones there. */
export async function storeKeyFile (store: ShardStore, keyBytes: Buffer, generation: number, options: CallOptions = {}): Promise<void> {
  const name = hashName(keyBytes)
  if (!await store.has('key', name, options)) await store.put('key', name, keyBytes, options)
  await removeOlderKeyFiles(store, name, generation, options)
}

/**
 * Removes the key files on an own store older than the home's (a lower generation: before a key was
 * added, removed or changed), so that a removed key opens nothing the stores keep. A copy that does not
 * parse is left alone.
 */
export async function removeOlderKeyFiles (store: ShardStore, current: string, generation: number, options: CallOptions = {}): Promise<number> {
  let removed = 0
  const names: string[] = []
  for await (const name of store.list('key', options)) { if (name !== current) names.push(name); if (names.length > 64) break }
  for (const name of names) {
    let old: KeyFile
    try { old = parseKeyFile(await store.get('key', name, options)) } catch { continue }
    if (old.generation < generation) { await store.delete('key', name, options); removed++ }
  }
  return removed
}
