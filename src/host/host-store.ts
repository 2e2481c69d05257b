import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Level } from 'level'
import { OBJECT_KINDS, ObjectKind, ProveAnswer, ProveRequest, StoreCallOptions, StoreUsage } from '../store/shard-store.js'
import { answerChallenge } from '../audit/challenge.js'
import { isObjectName } from '../store/hash-name.js'
import { checkAbort } from '../util/check-abort.js'
import {
  IntegrityError, NotFoundError, PeerNotTrustedError, ProtocolError, QuotaExceededError, StoreUnavailableError,
  TooLargeError, UsageError
} from '../errors.js'
import { DATA_CHUNK_SIZE, MAX_OBJECT_SIZE } from '../protocol/constants.js'
import { KeyedLock } from '../util/keyed-lock.js'
import { DamagedRecord, IndexValue, QuarantineEntry, ReciprocityLedger } from './reciprocity-ledger.js'

/**
 * How much a peer may keep here, in bytes; undefined when the peer is not trusted (every request refused).
 * The trust list lives elsewhere; the host store only asks.
 */
export type QuotaLookup = (peer: string) => number | undefined | Promise<number | undefined>

export interface HostStoreInit {
  quotaFor: QuotaLookup
  /** fsync each object and its directory before it counts as stored (default true). */
  durable?: boolean
  /** Largest object accepted (default MAX_OBJECT_SIZE). */
  maxObjectSize?: number
}

export interface HostUsage extends StoreUsage {
  quota: number
}

export interface ReadRange {
  offset?: number
  length?: number
}

/** An open object (or range of it) being read out. */
export interface ObjectReader {
  /** Bytes `chunks` yields. */
  readonly size: number
  /** Fresh buffers (never reused), so they may be handed to a stream that keeps them until sent. */
  chunks: (signal?: AbortSignal) => AsyncIterable<Uint8Array>
  close: () => Promise<void>
}

/** A put accepted against the quota; its announced bytes are held in reserve until `write` ends or `cancel`. */
export interface PendingPut {
  readonly size: number
  /** Writes exactly `size` bytes, checks them against the name and commits; returns the bytes newly kept. */
  write: (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: StoreCallOptions) => Promise<number>
  /** Gives the reservation back when no bytes will come. Harmless after `write`. */
  cancel: () => void
}

export function hostStorePaths (home: string): { root: string, index: string } {
  return { root: join(home, 'shards'), index: join(home, 'host-index') }
}

/** A peer id string as libp2p prints it (base58btc or base32 multibase); safe as a directory name. */
const OWNER = /^[A-Za-z0-9]{1,128}$/
const TMP = '.tmp'
const CLEAN = 'meta!clean'
const USAGE = 'usage!'
const DAMAGED = 'damaged!'
const QUARANTINED = 'quarantine!'
const QUARANTINE_DIR = '.quarantine'
/** The longest a host keeps an object in quarantine, whatever its owner asks. */
export const MAX_QUARANTINE_MS = 30 * 24 * 3600_000


/**
 * The objects this node keeps for its peers. Layout: ROOT/<owner>/<kind>/<2 hex>/<name>, where the owner is
 * the peer id of whoever stored it: owners are separate namespaces, so a peer can read, list and delete only
 * what it stored itself. New objects are written to ROOT/.tmp/, checked against their name (SHA-256), fsynced
 * and renamed into place; a reader never sees a partial object, and ROOT/.tmp/ is emptied at open.
 *
 * The index (LevelDB at HOME/host-index) keeps each owner's usage (`usage!OWNER` -> {objects, bytes}) and the
 * reciprocity ledger. The files are the truth: after a shutdown that did not close the store (`meta!clean`
 * not set) the usage figures are recounted from them at open.
 *
 * Quotas are enforced before any byte is accepted: announced size + usage + bytes still arriving > quota is
 * refused.
 */
export class HostStore {
  readonly ledger: ReciprocityLedger
  private readonly durable: boolean
  private readonly maxObjectSize: number
  private readonly usageOf = new Map<string, StoreUsage>()
  private readonly reserved = new Map<string, number>()
  private readonly quarantinedBytes = new Map<string, number>()
  /** the last quarantine's place in order (QuarantineEntry.seq) */
  private quarantineSeq = 0
  private readonly lock = new KeyedLock()
  private active = 0
  private idle: (() => void) | undefined
  private closed = false

  private constructor (readonly root: string, private readonly db: Level<string, IndexValue>, private readonly init: HostStoreInit) {
    this.durable = init.durable ?? true
    this.maxObjectSize = init.maxObjectSize ?? MAX_OBJECT_SIZE
    this.ledger = new ReciprocityLedger(db, peer => this.hostedFor(peer), () => this.owners())
  }

  /** Opens (creating when absent) the host store of a node's home: HOME/shards and HOME/host-index. */
  static async open (home: string, init: HostStoreInit): Promise<HostStore> {
    const { root, index } = hostStorePaths(home)
    await mkdir(join(root, TMP), { recursive: true })
    const db = new Level<string, IndexValue>(index, { valueEncoding: 'json' })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as Error & { cause?: Error }).cause
      const why = cause != null ? `${(err as Error).message} (${cause.message})` : (err as Error).message
      throw new StoreUnavailableError(`cannot open the host index ${index}: ${why}`, { cause: err })
    }
    try {
      // the index's lock is ours, so no other process is writing: whatever is in .tmp/ was left by a crash
      for (const entry of await readdir(join(root, TMP))) await rm(join(root, TMP, entry), { recursive: true, force: true })
      const store = new HostStore(root, db, init)
      if ((await db.get(CLEAN)) === true) await store.loadUsage()
      else await store.reconcile()
      await store.ledger.load()
      await store.loadQuarantine()
      await db.put(CLEAN, false)
      return store
    } catch (err) {
      await db.close()
      throw err
    }
  }

  /** Owners with at least one object here. */
  owners (): string[] {
    return [...this.usageOf.entries()].filter(([, u]) => u.objects > 0).map(([o]) => o).sort()
  }

  /** What this node keeps for `owner` (no trust check: for the ledger and the dashboard). */
  hostedFor (owner: string): StoreUsage {
    const u = this.usageOf.get(owner)
    return { objects: u?.objects ?? 0, bytes: u?.bytes ?? 0 }
  }

  /** Accepts a put against the owner's quota, or null when the owner has that object already. */
  async beginPut (owner: string, kind: ObjectKind, name: string, size: number, options: StoreCallOptions = {}): Promise<PendingPut | null> {
    return await this.track(options.signal, async () => {
      const dest = this.path(owner, kind, name)
      if (!Number.isSafeInteger(size) || size < 0) throw new UsageError(`invalid object size: ${size}`)
      if (size > this.maxObjectSize) throw new TooLargeError(`an object of ${size} bytes exceeds this host's limit of ${this.maxObjectSize}`)
      const quota = await this.quota(owner)
      if (await exists(dest)) return null
      const used = this.hostedFor(owner).bytes
      const arriving = this.reserved.get(owner) ?? 0
      if (used + arriving + size > quota) {
        throw new QuotaExceededError(`quota exceeded: ${used} bytes kept and ${arriving} arriving of ${quota}; ${size} more refused`)
      }
      this.reserved.set(owner, arriving + size)
      let settled = false
      const release = (): void => {
        if (settled) return
        settled = true
        const left = (this.reserved.get(owner) ?? 0) - size
        if (left > 0) this.reserved.set(owner, left)
        else this.reserved.delete(owner)
      }
      return {
        size,
        cancel: release,
        write: async (source, opts = {}) => {
          if (settled) throw new UsageError('this put was already written or cancelled')
          try {
            return await this.track(opts.signal, async () => await this.receive(owner, kind, name, size, source, opts.signal))
          } finally {
            release()
          }
        }
      }
    })
  }

  /** Stores a whole object at once; returns the bytes newly kept (0 when it was there already). */
  /** Forgets a damaged record (the owner put the object again, or repaired it elsewhere). */
  async forgetDamaged (owner: string, kind: ObjectKind, name: string): Promise<void> {
    await this.db.del(`${DAMAGED}${owner}!${kind}!${name}`)
  }

  async put (owner: string, kind: ObjectKind, name: string, data: Uint8Array, options: StoreCallOptions = {}): Promise<number> {
    const pending = await this.beginPut(owner, kind, name, data.length, options)
    return pending == null ? 0 : await pending.write([data], options)
  }

  private async receive (owner: string, kind: ObjectKind, name: string, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal): Promise<number> {
    const tmp = join(this.root, TMP, randomBytes(12).toString('hex'))
    let fh: FileHandle | undefined
    try {
      fh = await open(tmp, 'wx', 0o600)
      const hash = createHash('sha256')
      let received = 0
      for await (const chunk of source) {
        checkAbort(signal)
        received += chunk.length
        if (received > size) throw new ProtocolError(`more than the announced ${size} bytes`)
        hash.update(chunk)
        await writeAll(fh, chunk)
      }
      if (received !== size) throw new ProtocolError(`${received} bytes arrived of the announced ${size}`)
      if (hash.digest('hex') !== name) throw new IntegrityError(`refusing ${kind} ${name}: its bytes hash to another name`)
      if (this.durable) await fh.sync()
      await fh.close()
      fh = undefined
      checkAbort(signal)
      return await this.lock.run(owner, async () => {
        const dest = this.path(owner, kind, name)
        if (await exists(dest)) return 0 // another put of the same object won the race
        const dir = dirname(dest)
        await mkdir(dir, { recursive: true })
        await rename(tmp, dest)
        if (this.durable) await syncDir(dir)
        const u = this.hostedFor(owner)
        await this.setUsage(owner, { objects: u.objects + 1, bytes: u.bytes + size })
        // a good copy again: whatever the scrub found before is settled
        await this.db.del(`${DAMAGED}${owner}!${kind}!${name}`)
        return size
      })
    } finally {
      await fh?.close().catch(() => {})
      await rm(tmp, { force: true })
    }
  }

  /** Opens an object (or a byte range of it, cut at its end) for reading. */
  async openRead (owner: string, kind: ObjectKind, name: string, range: ReadRange = {}, options: StoreCallOptions = {}): Promise<ObjectReader> {
    return await this.track(options.signal, async () => {
      const p = this.path(owner, kind, name)
      const offset = range.offset ?? 0
      if (!Number.isSafeInteger(offset) || offset < 0) throw new UsageError(`invalid offset: ${offset}`)
      if (range.length != null && (!Number.isSafeInteger(range.length) || range.length < 0)) throw new UsageError(`invalid length: ${range.length}`)
      await this.quota(owner)
      let fh: FileHandle
      try {
        fh = await open(p, 'r')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`${kind} ${name} not found`)
        throw err
      }
      const total = (await fh.stat()).size
      const start = Math.min(offset, total)
      const end = range.length == null ? total : Math.min(total, start + range.length)
      const file = fh
      return {
        size: end - start,
        close: async () => { await file.close().catch(() => {}) },
        chunks: async function * (signal?: AbortSignal) {
          for (let pos = start; pos < end;) {
            checkAbort(signal)
            const buf = Buffer.allocUnsafe(Math.min(DATA_CHUNK_SIZE, end - pos))
            const { bytesRead } = await file.read(buf, 0, buf.length, pos)
            if (bytesRead === 0) throw new StoreUnavailableError(`${kind} ${name} shrank while being read`)
            pos += bytesRead
            yield buf.subarray(0, bytesRead)
          }
        }
      }
    })
  }

  /** A whole object or a range of it, in one buffer. */
  async get (owner: string, kind: ObjectKind, name: string, range: ReadRange = {}, options: StoreCallOptions = {}): Promise<Uint8Array> {
    const reader = await this.openRead(owner, kind, name, range, options)
    try {
      const parts: Uint8Array[] = []
      for await (const chunk of reader.chunks(options.signal)) parts.push(chunk)
      return Buffer.concat(parts)
    } finally {
      await reader.close()
    }
  }

  /** Answers an owner's audit challenge from the object's bytes on disk (NotFoundError when absent). */
  async prove (owner: string, kind: ObjectKind, name: string, request: ProveRequest, options: StoreCallOptions = {}): Promise<ProveAnswer> {
    return answerChallenge(await this.get(owner, kind, name, {}, options), request.segmentSize, request)
  }

  async has (owner: string, kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    return await this.track(options.signal, async () => {
      const p = this.path(owner, kind, name)
      await this.quota(owner)
      return await exists(p)
    })
  }

  /** The owner's names of one kind, sorted. */
  async * list (owner: string, kind: ObjectKind, options: StoreCallOptions = {}): AsyncGenerator<string> {
    checkAbort(options.signal)
    const dir = join(this.ownerDir(owner), this.kindDir(kind))
    await this.track(options.signal, async () => await this.quota(owner))
    let prefixes: string[]
    try { prefixes = await readdir(dir) } catch { return }
    for (const prefix of prefixes.sort()) {
      checkAbort(options.signal)
      if (this.closed) throw new StoreUnavailableError('the host store is closed')
      let names: string[]
      try { names = await readdir(join(dir, prefix)) } catch { continue }
      for (const name of names.sort()) if (isObjectName(name) && name.startsWith(prefix)) yield name
    }
  }

  /** Deletes the owner's object; returns the bytes freed (0 when it was not there). */
  async delete (owner: string, kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<number> {
    return await this.track(options.signal, async () => {
      const p = this.path(owner, kind, name)
      await this.quota(owner)
      return await this.lock.run(owner, async () => {
        let size: number
        try {
          size = (await stat(p)).size
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
          throw err
        }
        await rm(p)
        if (this.durable) await syncDir(dirname(p))
        const u = this.hostedFor(owner)
        await this.setUsage(owner, { objects: Math.max(0, u.objects - 1), bytes: Math.max(0, u.bytes - size) })
        return size
      })
    })
  }

  /**
   * Takes the owner's object out of use (ShardStore.quarantine): moved to ROOT/.quarantine/<owner>/<kind>/,
   * no longer listed, read or counted against the quota, and deleted by `purgeQuarantine` once its grace is
   * over (at most MAX_QUARANTINE_MS, whatever the owner asks). What an owner has in quarantine is bounded by
   * its quota: the oldest goes first to make room. Returns the bytes taken off the owner's usage.
   */
  async quarantine (owner: string, kind: ObjectKind, name: string, graceMs: number, options: StoreCallOptions = {}): Promise<number> {
    return await this.track(options.signal, async () => {
      const p = this.path(owner, kind, name)
      const quota = await this.quota(owner)
      if (!Number.isFinite(graceMs) || graceMs < 0) throw new UsageError(`invalid grace: ${graceMs}`)
      return await this.lock.run(owner, async () => {
        let size: number
        try {
          size = (await stat(p)).size
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
          throw err
        }
        const key = `${QUARANTINED}${owner}!${kind}!${name}`
        if (size > quota) {
          await rm(p, { force: true })
        } else {
          await this.makeRoom(owner, quota - size)
          // the entry first: a crash before the move leaves an entry whose file is still live (harmless)
          await this.db.put(key, { until: Date.now() + Math.min(graceMs, MAX_QUARANTINE_MS), bytes: size, seq: ++this.quarantineSeq })
          const dest = this.quarantinePath(owner, kind, name)
          await mkdir(dirname(dest), { recursive: true })
          await rename(p, dest)
          this.quarantinedBytes.set(owner, (this.quarantinedBytes.get(owner) ?? 0) + size)
        }
        if (this.durable) await syncDir(dirname(p))
        const u = this.hostedFor(owner)
        await this.setUsage(owner, { objects: Math.max(0, u.objects - 1), bytes: Math.max(0, u.bytes - size) })
        return size
      })
    })
  }

  /** Brings the owner's object back from quarantine (counted again, even above the quota); false when there is none. */
  async release (owner: string, kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    return await this.track(options.signal, async () => {
      const live = this.path(owner, kind, name)
      await this.quota(owner)
      return await this.lock.run(owner, async () => {
        const key = `${QUARANTINED}${owner}!${kind}!${name}`
        const entry = await this.db.get(key) as QuarantineEntry | undefined
        if (entry == null) return false
        const held = this.quarantinePath(owner, kind, name)
        let size: number
        try {
          size = (await stat(held)).size
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
          await this.db.del(key)
          return await exists(live)
        }
        if (await exists(live)) {
          await rm(held, { force: true })
        } else {
          await mkdir(dirname(live), { recursive: true })
          await rename(held, live)
          if (this.durable) await syncDir(dirname(live))
          const u = this.hostedFor(owner)
          await this.setUsage(owner, { objects: u.objects + 1, bytes: u.bytes + size })
        }
        await this.db.del(key)
        this.quarantinedBytes.set(owner, Math.max(0, (this.quarantinedBytes.get(owner) ?? 0) - entry.bytes))
        return true
      })
    })
  }

  /** Deletes what has been in quarantine past its grace (every owner); returns how many objects. */
  async purgeQuarantine (now = Date.now(), options: StoreCallOptions = {}): Promise<number> {
    return await this.track(options.signal, async () => {
      const due: Array<[string, QuarantineEntry]> = []
      for await (const [key, value] of this.db.iterator({ gte: QUARANTINED, lt: QUARANTINED.slice(0, -1) + '"' })) {
        if ((value as QuarantineEntry).until <= now) due.push([key, value as QuarantineEntry])
      }
      for (const [key] of due) {
        checkAbort(options.signal)
        const [owner] = key.slice(QUARANTINED.length).split('!')
        await this.lock.run(owner, async () => { await this.dropQuarantined(key) })
      }
      return due.length
    })
  }

  /** Bytes the owner has in quarantine here. */
  quarantinedFor (owner: string): number {
    return this.quarantinedBytes.get(owner) ?? 0
  }

  /** Deletes the owner's oldest quarantined objects until at most `room` bytes are held (under the owner's lock). */
  private async makeRoom (owner: string, room: number): Promise<void> {
    if ((this.quarantinedBytes.get(owner) ?? 0) <= room) return
    const prefix = `${QUARANTINED}${owner}!`
    const entries: Array<[string, QuarantineEntry]> = []
    for await (const [key, value] of this.db.iterator({ gte: prefix, lt: prefix + '~' })) entries.push([key, value as QuarantineEntry])
    // the oldest quarantine first (two in one millisecond have the same deadline; seq orders them)
    entries.sort((a, b) => (a[1].seq ?? 0) - (b[1].seq ?? 0) || a[1].until - b[1].until)
    for (const [key] of entries) {
      if ((this.quarantinedBytes.get(owner) ?? 0) <= room) break
      await this.dropQuarantined(key)
    }
  }

  /** Deletes one quarantined object and its entry (under its owner's lock). */
  private async dropQuarantined (key: string): Promise<void> {
    const entry = await this.db.get(key) as QuarantineEntry | undefined
    if (entry == null) return
    const [owner, kind, name] = key.slice(QUARANTINED.length).split('!')
    await rm(join(this.root, QUARANTINE_DIR, owner, kind, name), { force: true })
    await this.db.del(key)
    this.quarantinedBytes.set(owner, Math.max(0, (this.quarantinedBytes.get(owner) ?? 0) - entry.bytes))
  }

  private quarantinePath (owner: string, kind: ObjectKind, name: string): string {
    this.path(owner, kind, name) // validates owner, kind and name
    return join(this.root, QUARANTINE_DIR, owner, kind, name)
  }

  /**
   * Scrub: re-hashes one object against its name (streamed, under the owner's lock so that no put or
   * delete of it runs meanwhile). A corrupt object is removed (usage updated) and recorded as damaged for
   * its owner, who learns of it through `damaged`; it is never served again.
   */
  async scrubObject (owner: string, kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<{ state: 'good' | 'damaged' | 'absent', bytes: number }> {
    return await this.track(options.signal, async () => {
      const p = this.path(owner, kind, name)
      return await this.lock.run(owner, async () => {
        let fh: FileHandle
        try { fh = await open(p, 'r') } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' as const, bytes: 0 }
          throw err
        }
        const hash = createHash('sha256')
        let size = 0
        try {
          const buf = Buffer.allocUnsafe(DATA_CHUNK_SIZE)
          for (;;) {
            checkAbort(options.signal)
            const { bytesRead } = await fh.read(buf, 0, buf.length, null)
            if (bytesRead === 0) break
            hash.update(buf.subarray(0, bytesRead))
            size += bytesRead
          }
        } finally {
          await fh.close()
        }
        if (hash.digest('hex') === name) return { state: 'good' as const, bytes: size }
        await rm(p, { force: true })
        if (this.durable) await syncDir(dirname(p))
        const u = this.hostedFor(owner)
        await this.setUsage(owner, { objects: Math.max(0, u.objects - 1), bytes: Math.max(0, u.bytes - size) })
        await this.db.put(`${DAMAGED}${owner}!${kind}!${name}`, { at: Date.now(), reason: 'its bytes no longer hash to its name' })
        return { state: 'damaged' as const, bytes: size }
      })
    })
  }

  /** What the scrub found damaged among the owner's objects (and removed), oldest first by name. */
  async damaged (owner: string, options: StoreCallOptions = {}): Promise<Array<{ kind: ObjectKind, name: string } & DamagedRecord>> {
    return await this.track(options.signal, async () => {
      this.ownerDir(owner) // validates the owner
      const prefix = `${DAMAGED}${owner}!`
      const out: Array<{ kind: ObjectKind, name: string } & DamagedRecord> = []
      for await (const [key, value] of this.db.iterator({ gte: prefix, lt: prefix + '~' })) {
        const [kind, name] = key.slice(prefix.length).split('!')
        out.push({ kind: kind as ObjectKind, name, ...(value as DamagedRecord) })
      }
      return out
    })
  }

  /** What the owner keeps here, and its quota. */
  async usage (owner: string, options: StoreCallOptions = {}): Promise<HostUsage> {
    return await this.track(options.signal, async () => {
      this.ownerDir(owner)
      const quota = await this.quota(owner)
      return { ...this.hostedFor(owner), quota }
    })
  }

  /** Recounts every owner's usage from the files (after an unclean shutdown; also callable by hand). */
  async reconcile (): Promise<void> {
    const counted = new Map<string, StoreUsage>()
    let owners: string[]
    try { owners = await readdir(this.root) } catch { owners = [] }
    for (const owner of owners.filter(o => OWNER.test(o))) {
      const u = { objects: 0, bytes: 0 }
      for (const kind of OBJECT_KINDS) {
        const kindDir = join(this.root, owner, kind)
        let prefixes: string[]
        try { prefixes = await readdir(kindDir) } catch { continue }
        for (const prefix of prefixes) {
          let names: string[]
          try { names = await readdir(join(kindDir, prefix)) } catch { continue }
          for (const name of names.filter(n => isObjectName(n) && n.startsWith(prefix))) {
            try {
              const s = await stat(join(kindDir, prefix, name))
              u.objects++
              u.bytes += s.size
            } catch {}
          }
        }
      }
      if (u.objects > 0) counted.set(owner, u)
    }
    const ops: Array<{ type: 'put', key: string, value: IndexValue } | { type: 'del', key: string }> = []
    for await (const key of this.db.keys({ gte: USAGE, lt: USAGE.slice(0, -1) + '"' })) ops.push({ type: 'del', key })
    for (const [owner, u] of counted) ops.push({ type: 'put', key: USAGE + owner, value: u })
    await this.db.batch(ops)
    this.usageOf.clear()
    for (const [owner, u] of counted) this.usageOf.set(owner, u)
  }

  /** Waits for the calls under way, marks the index clean and closes it; harmless twice. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.active > 0) await new Promise<void>(resolve => { this.idle = resolve })
    await this.db.put(CLEAN, true)
    await this.db.close()
  }

  private async loadQuarantine (): Promise<void> {
    this.quarantinedBytes.clear()
    for await (const [key, value] of this.db.iterator({ gte: QUARANTINED, lt: QUARANTINED.slice(0, -1) + '"' })) {
      const owner = key.slice(QUARANTINED.length).split('!')[0]
      this.quarantinedBytes.set(owner, (this.quarantinedBytes.get(owner) ?? 0) + (value as QuarantineEntry).bytes)
      this.quarantineSeq = Math.max(this.quarantineSeq, (value as QuarantineEntry).seq ?? 0)
    }
  }

  private async loadUsage (): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gte: USAGE, lt: USAGE.slice(0, -1) + '"' })) {
      this.usageOf.set(key.slice(USAGE.length), value as StoreUsage)
    }
  }

  private async setUsage (owner: string, u: StoreUsage): Promise<void> {
    this.usageOf.set(owner, u)
    await this.db.put(USAGE + owner, u)
  }

  private async quota (owner: string): Promise<number> {
    const quota = await this.init.quotaFor(owner)
    if (quota == null) throw new PeerNotTrustedError(`peer ${owner} is not trusted by this host`)
    return Number.isNaN(quota) ? 0 : Math.max(0, quota)
  }

  /** Counts a call as under way (close waits for it) and refuses it once closed or aborted. */
  private async track<T> (signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    checkAbort(signal)
    if (this.closed) throw new StoreUnavailableError('the host store is closed')
    this.active++
    try {
      return await fn()
    } finally {
      if (--this.active === 0) this.idle?.()
    }
  }

  private ownerDir (owner: string): string {
    if (typeof owner !== 'string' || !OWNER.test(owner)) throw new UsageError(`invalid owner: ${String(owner).slice(0, 140)}`)
    return join(this.root, owner)
  }

  private kindDir (kind: ObjectKind): string {
    if (!OBJECT_KINDS.includes(kind)) throw new UsageError(`unknown object kind: ${String(kind)}`)
    return kind
  }

  private path (owner: string, kind: ObjectKind, name: string): string {
    const dir = join(this.ownerDir(owner), this.kindDir(kind))
    if (typeof name !== 'string' || !isObjectName(name)) throw new UsageError(`invalid object name: ${String(name).slice(0, 80)}`)
    return join(dir, name.slice(0, 2), name)
  }
}

async function exists (p: string): Promise<boolean> {
  try {
    await stat(p)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}

async function writeAll (fh: FileHandle, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) {
    const { bytesWritten } = await fh.write(data, at, data.length - at)
    at += bytesWritten
  }
}

async function syncDir (dir: string): Promise<void> {
  const dh = await open(dir, 'r')
  try { await dh.sync() } finally { await dh.close() }
}
