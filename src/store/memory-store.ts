import { GetOptions, ObjectKind, ProveAnswer, ProveRequest, ShardStore, StoreCallOptions, StoreUsage } from './shard-store.js'
import { answerChallenge } from '../audit/challenge.js'
import { hashName, isObjectName } from './hash-name.js'
import { checkAbort } from '../util/check-abort.js'
import { IntegrityError, NotFoundError, StoreUnavailableError, UsageError } from '../errors.js'

/**
 * An in-memory shard store for unit tests. `available = false` makes it behave like a store that
 * cannot be reached; `corrupt()` flips a byte the way a failing disk or a dishonest host would.
 */
export class MemoryStore implements ShardStore {
  readonly objects = new Map<string, Uint8Array>()
  /** Objects in quarantine (see ShardStore.quarantine), with the time they may be deleted. */
  readonly quarantined = new Map<string, { data: Uint8Array, until: number }>()
  available = true

  constructor (readonly id = 'mem:' + Math.random().toString(36).slice(2)) {}

  private key (kind: ObjectKind, name: string): string {
    if (!isObjectName(name)) throw new UsageError(`invalid object name: ${name}`)
    return `${kind}/${name}`
  }

  private check (signal?: AbortSignal): void {
    checkAbort(signal)
    if (!this.available) throw new StoreUnavailableError(`store ${this.id} is unavailable`)
  }

  corrupt (kind: ObjectKind, name: string, at = 0): void {
    const data = this.objects.get(this.key(kind, name))
    if (data == null) throw new NotFoundError(`${kind} ${name} not found`)
    data[at % data.length] ^= 0xff
  }

  async put (kind: ObjectKind, name: string, data: Uint8Array, options: StoreCallOptions = {}): Promise<void> {
    this.check(options.signal)
    const k = this.key(kind, name)
    if (hashName(data) !== name) throw new IntegrityError(`refusing to store ${kind} ${name}: its bytes hash to another name`)
    if (!this.objects.has(k)) this.objects.set(k, Uint8Array.from(data))
  }

  /** Answers from the bytes as they are now (corrupted ones included: the auditor's check catches them). */
  async prove (kind: ObjectKind, name: string, request: ProveRequest, options: StoreCallOptions = {}): Promise<ProveAnswer> {
    this.check(options.signal)
    const data = this.objects.get(this.key(kind, name))
    if (data == null) throw new NotFoundError(`${kind} ${name} not found in ${this.id}`)
    return answerChallenge(data, request.segmentSize, request)
  }

  async get (kind: ObjectKind, name: string, options: GetOptions = {}): Promise<Uint8Array> {
    this.check(options.signal)
    const data = this.objects.get(this.key(kind, name))
    if (data == null) throw new NotFoundError(`${kind} ${name} not found in ${this.id}`)
    if (options.offset == null && options.length == null) {
      if (hashName(data) !== name) throw new IntegrityError(`${kind} ${name} in ${this.id} is corrupt: its bytes no longer match its name`)
      return Uint8Array.from(data)
    }
    const offset = options.offset ?? 0
    return Uint8Array.from(data.subarray(offset, offset + (options.length ?? data.length)))
  }

  async has (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    this.check(options.signal)
    return this.objects.has(this.key(kind, name))
  }

  async * list (kind: ObjectKind, options: StoreCallOptions = {}): AsyncIterable<string> {
    this.check(options.signal)
    const names = [...this.objects.keys()].filter(k => k.startsWith(kind + '/')).map(k => k.slice(kind.length + 1)).sort()
    yield * names
  }

  async delete (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<void> {
    this.check(options.signal)
    this.objects.delete(this.key(kind, name))
  }

  async quarantine (kind: ObjectKind, name: string, graceMs: number, options: StoreCallOptions = {}): Promise<void> {
    this.check(options.signal)
    const k = this.key(kind, name)
    const data = this.objects.get(k)
    if (data == null) return
    this.objects.delete(k)
    this.quarantined.set(k, { data, until: Date.now() + Math.max(0, graceMs) })
  }

  async release (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    this.check(options.signal)
    const k = this.key(kind, name)
    const held = this.quarantined.get(k)
    if (held == null) return false
    this.quarantined.delete(k)
    if (!this.objects.has(k)) this.objects.set(k, held.data)
    return true
  }

  async purgeQuarantine (options: StoreCallOptions = {}): Promise<number> {
    this.check(options.signal)
    const now = Date.now()
    let purged = 0
    for (const [k, held] of this.quarantined) if (held.until <= now) { this.quarantined.delete(k); purged++ }
    return purged
  }

  async usage (options: StoreCallOptions = {}): Promise<StoreUsage> {
    this.check(options.signal)
    let bytes = 0
    for (const v of this.objects.values()) bytes += v.length
    return { objects: this.objects.size, bytes }
  }

  async close (): Promise<void> {}
}
