import { RoleError } from '../errors.js'
import type { GetOptions, ObjectKind, ShardStore, StoreCallOptions, StoreRhythm, StoreUsage } from './shard-store.js'

/**
 * A store through which nothing is written: the stores of a device with read access to its owner's
 * repository. Reads pass through; put, delete, quarantine and release fail with RoleError before any
 * request leaves (the hosts refuse them too). Audits are the owner's: no prove, no damaged reports.
 */
export class ReadOnlyStore implements ShardStore {
  readonly id: string
  readonly label?: string
  readonly site?: string
  readonly reachable?: () => boolean
  readonly offlineSince?: () => number | undefined
  readonly rhythm?: () => StoreRhythm | undefined

  constructor (readonly inner: ShardStore, private readonly why: string) {
    this.id = inner.id
    this.label = inner.label
    this.site = inner.site
    if (inner.reachable != null) this.reachable = () => inner.reachable!()
    if (inner.offlineSince != null) this.offlineSince = () => inner.offlineSince!()
    if (inner.rhythm != null) this.rhythm = () => inner.rhythm!()
  }

  freeBytes (): number { return 0 }

  async put (kind: ObjectKind): Promise<void> { throw new RoleError(`${this.why}: a ${kind} cannot be stored from here`) }
  async delete (kind: ObjectKind): Promise<void> { throw new RoleError(`${this.why}: a ${kind} cannot be deleted from here`) }
  async quarantine (kind: ObjectKind): Promise<void> { throw new RoleError(`${this.why}: a ${kind} cannot be quarantined from here`) }
  async release (kind: ObjectKind): Promise<boolean> { throw new RoleError(`${this.why}: a ${kind} cannot be released from here`) }

  async get (kind: ObjectKind, name: string, options?: GetOptions): Promise<Uint8Array> { return await this.inner.get(kind, name, options) }
  async has (kind: ObjectKind, name: string, options?: StoreCallOptions): Promise<boolean> { return await this.inner.has(kind, name, options) }
  list (kind: ObjectKind, options?: StoreCallOptions): AsyncIterable<string> { return this.inner.list(kind, options) }
  async usage (options?: StoreCallOptions): Promise<StoreUsage> { return await this.inner.usage(options) }
  async close (): Promise<void> { await this.inner.close() }
}
