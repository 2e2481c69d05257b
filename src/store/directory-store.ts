import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { GetOptions, OBJECT_KINDS, ObjectKind, ProveAnswer, ProveRequest, ShardStore, StoreCallOptions, StoreUsage } from './shard-store.js'
import { answerChallenge } from '../audit/challenge.js'
import { hashName, isObjectName } from './hash-name.js'
import { checkAbort } from '../util/check-abort.js'
import { IntegrityError, NotFoundError, StoreUnavailableError, UsageError } from '../errors.js'

const MARKER = 'holdfast-store.json'
const QUARANTINE = 'quarantine'
const MARKER_CONTENT = JSON.stringify({ holdfast: 'store', version: 1 }) + '\n'

export interface DirectoryStoreInit {
  /** fsync each object before it becomes visible (default true). */
  durable?: boolean
  /**
   * Check that each object's bytes hash to its name before storing it (default true). The repository
   * turns it off for its own puts because it computed the names from those very bytes a moment before
   * (on a worker thread); a store reached over the network always verifies on the host's side.
   */
  verifyWrites?: boolean
}

/**
 * A shard store in a local directory (a disk, a NAS mount, a stand-in for a peer in tests).
 * Layout: ROOT/holdfast-store.json, ROOT/<kind>/<2 hex>/<name>, ROOT/tmp/ for objects being written,
 * ROOT/quarantine/<kind>/<name>.<deadline ms> for objects in quarantine (see ShardStore.quarantine).
 * Objects are written to tmp/, fsynced and renamed into place, so a reader never sees a partial object.
 */
export class DirectoryStore implements ShardStore {
  readonly id: string
  private readonly durable: boolean
  private readonly verifyWrites: boolean

  constructor (readonly root: string, init: DirectoryStoreInit = {}) {
    this.id = `dir:${root}`
    this.durable = init.durable ?? true
    this.verifyWrites = init.verifyWrites ?? true
  }

  /** Creates the store's directory and marker; harmless when it exists already. */
  static async create (root: string, init?: DirectoryStoreInit): Promise<DirectoryStore> {
    await mkdir(join(root, 'tmp'), { recursive: true })
    await writeFile(join(root, MARKER), MARKER_CONTENT)
    return new DirectoryStore(root, init)
  }

  private path (kind: ObjectKind, name: string): string {
    if (!OBJECT_KINDS.includes(kind)) throw new UsageError(`unknown object kind: ${String(kind)}`)
    if (!isObjectName(name)) throw new UsageError(`invalid object name: ${name}`)
    return join(this.root, kind, name.slice(0, 2), name)
  }

  private async ensureAvailable (): Promise<void> {
    try {
      await stat(join(this.root, MARKER))
    } catch (err) {
      throw new StoreUnavailableError(`store ${this.id} is unavailable: ${(err as Error).message}`, { cause: err })
    }
  }

  async put (kind: ObjectKind, name: string, data: Uint8Array, options: StoreCallOptions = {}): Promise<void> {
    checkAbort(options.signal)
    const dest = this.path(kind, name)
    if (this.verifyWrites && hashName(data) !== name) throw new IntegrityError(`refusing to store ${kind} ${name}: its bytes hash to another name`)
    await this.ensureAvailable()
    try {
      await stat(dest)
      return // already stored: objects are immutable and content-addressed
    } catch {}
    const tmp = join(this.root, 'tmp', `${name}.${randomBytes(6).toString('hex')}`)
    let fh
    try {
      fh = await open(tmp, 'w', 0o600)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await mkdir(join(this.root, 'tmp'), { recursive: true }) // a store copied without its empty tmp/
      fh = await open(tmp, 'w', 0o600)
    }
    try {
      await fh.writeFile(data)
      if (this.durable) await fh.sync()
    } catch (err) {
      await fh.close().catch(() => {})
      await rm(tmp, { force: true })
      throw err
    }
    await fh.close()
    const dir = join(this.root, kind, name.slice(0, 2))
    try {
      await mkdir(dir, { recursive: true })
      await rename(tmp, dest)
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
    if (this.durable) {
      // the rename itself must survive a power loss before the caller builds on this object
      const dh = await open(dir, 'r')
      try { await dh.sync() } finally { await dh.close() }
    }
  }

  /** Answers an audit challenge from the object's bytes (read whole: shards are a few MiB). */
  async prove (kind: ObjectKind, name: string, request: ProveRequest, options: StoreCallOptions = {}): Promise<ProveAnswer> {
    return answerChallenge(await this.get(kind, name, options), request.segmentSize, request)
  }

  async get (kind: ObjectKind, name: string, options: GetOptions = {}): Promise<Uint8Array> {
    checkAbort(options.signal)
    const p = this.path(kind, name)
    try {
      if (options.offset == null && options.length == null) {
        // Not verified here: the caller verifies everything it fetches from any store, once.
        return await readFile(p, { signal: options.signal })
      }
      const fh = await open(p, 'r')
      try {
        const offset = options.offset ?? 0
        const size = (await fh.stat()).size
        const length = Math.max(0, Math.min(options.length ?? size - offset, size - offset))
        const buf = Buffer.allocUnsafe(length)
        const { bytesRead } = await fh.read(buf, 0, length, offset)
        return buf.subarray(0, bytesRead)
      } finally {
        await fh.close()
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        await this.ensureAvailable()
        throw new NotFoundError(`${kind} ${name} not found in ${this.id}`, { cause: err })
      }
      throw err
    }
  }

  async has (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    checkAbort(options.signal)
    const p = this.path(kind, name)
    try {
      await stat(p)
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await this.ensureAvailable()
      return false
    }
  }

  async * list (kind: ObjectKind, options: StoreCallOptions = {}): AsyncIterable<string> {
    checkAbort(options.signal)
    if (!OBJECT_KINDS.includes(kind)) throw new UsageError(`unknown object kind: ${String(kind)}`)
    await this.ensureAvailable()
    let prefixes: string[]
    try { prefixes = await readdir(join(this.root, kind)) } catch { return }
    for (const prefix of prefixes.sort()) {
      checkAbort(options.signal)
      let names: string[]
      try { names = await readdir(join(this.root, kind, prefix)) } catch { continue }
      for (const name of names.sort()) if (isObjectName(name)) yield name
    }
  }

  async delete (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<void> {
    checkAbort(options.signal)
    await this.ensureAvailable()
    await rm(this.path(kind, name), { force: true })
  }

  /** Moves the object to ROOT/quarantine/<kind>/<name>.<deadline ms>; harmless when it is absent. */
  async quarantine (kind: ObjectKind, name: string, graceMs: number, options: StoreCallOptions = {}): Promise<void> {
    checkAbort(options.signal)
    const p = this.path(kind, name)
    await this.ensureAvailable()
    const dir = join(this.root, QUARANTINE, kind)
    await mkdir(dir, { recursive: true })
    const until = Date.now() + Math.max(0, Math.floor(graceMs))
    try {
      await rename(p, join(dir, `${name}.${until}`))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    }
  }

  async release (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    checkAbort(options.signal)
    const dest = this.path(kind, name)
    await this.ensureAvailable()
    const dir = join(this.root, QUARANTINE, kind)
    let entries: string[]
    try { entries = await readdir(dir) } catch { return false }
    const held = entries.filter(e => e.startsWith(name + '.')).sort()
    if (held.length === 0) return false
    await mkdir(join(this.root, kind, name.slice(0, 2)), { recursive: true })
    await rename(join(dir, held[held.length - 1]), dest)
    for (const other of held.slice(0, -1)) await rm(join(dir, other), { force: true })
    return true
  }

  async purgeQuarantine (options: StoreCallOptions = {}): Promise<number> {
    checkAbort(options.signal)
    await this.ensureAvailable()
    const now = Date.now()
    let purged = 0
    for (const kind of OBJECT_KINDS) {
      const dir = join(this.root, QUARANTINE, kind)
      let entries: string[]
      try { entries = await readdir(dir) } catch { continue }
      for (const entry of entries) {
        checkAbort(options.signal)
        const until = Number(entry.slice(entry.lastIndexOf('.') + 1))
        if (Number.isFinite(until) && until > now) continue
        await rm(join(dir, entry), { force: true })
        purged++
      }
    }
    return purged
  }

  async usage (options: StoreCallOptions = {}): Promise<StoreUsage> {
    const u = { objects: 0, bytes: 0 }
    for (const kind of OBJECT_KINDS) {
      for await (const name of this.list(kind, options)) {
        u.objects++
        u.bytes += (await stat(this.path(kind, name))).size
      }
    }
    return u
  }

  async close (): Promise<void> {}
}


/** The speed vault at `path` (a directory store created on first use; a cache, so not fsynced), or none for ''. */
export async function openVault (path: string): Promise<DirectoryStore | undefined> {
  return path === '' ? undefined : await DirectoryStore.create(path, { durable: false })
}
