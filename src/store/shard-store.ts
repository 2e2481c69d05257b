/**
 * The narrow interface through which the pipeline reaches every place that keeps bytes:
 * directories now, peers later. Objects are immutable and content-addressed: an object's
 * name is the lowercase hex SHA-256 of its bytes, within a namespace (`kind`).
 *
 * Contract:
 * - `put` makes an object visible only whole; a reader never sees a partial object. Putting an existing
 *   object again is harmless. A store that accepts objects from others (a host) must check that `name` is
 *   the hash of `data` before storing; a local store may trust a caller that computed the name itself.
 * - `get` returns exactly the stored bytes (or the asked byte range) and throws `NotFoundError` when the
 *   object is absent, `StoreUnavailableError` when the store cannot be reached at all. Callers verify what
 *   they get (the store is untrusted), so a store need not verify on read.
 * - Every call takes an optional AbortSignal.
 */
export type ObjectKind = 'shard' | 'key' | 'config' | 'index' | 'snapshot' | 'placement' | 'forget' | 'lock'

export const OBJECT_KINDS: readonly ObjectKind[] = ['shard', 'key', 'config', 'index', 'snapshot', 'placement', 'forget', 'lock']

export interface StoreCallOptions {
  signal?: AbortSignal
}

export interface GetOptions extends StoreCallOptions {
  /** Byte range to read; the whole object when absent. */
  offset?: number
  length?: number
}

export interface StoreUsage {
  objects: number
  bytes: number
}

/** An audit challenge: which segments of an object to prove, under a fresh nonce (see src/audit/). */
export interface ProveRequest {
  nonce: Uint8Array
  segmentSize: number
  indices: number[]
}

/** The segments asked for with their Merkle paths, and the nonce of the challenge they answer. */
export interface ProveAnswer {
  nonce: Uint8Array
  proofs: Array<{ index: number, segment: Uint8Array, path: Uint8Array[] }>
}

/** An object a host's own scrub found corrupt (and removed). */
export interface DamagedReport { kind: ObjectKind, name: string, at: number, reason: string }

/** A store's rhythm while it is unreachable (ShardStore.rhythm; the fields of audit/health.ts's HostPresence). */
export interface StoreRhythm {
  usualAbsenceMs?: number
  watchedAbsenceMs?: number
}

export interface ShardStore {
  /** A stable identifier, e.g. `dir:/srv/disk1/holdfast`. */
  readonly id: string
  put (kind: ObjectKind, name: string, data: Uint8Array, options?: StoreCallOptions): Promise<void>
  get (kind: ObjectKind, name: string, options?: GetOptions): Promise<Uint8Array>
  has (kind: ObjectKind, name: string, options?: StoreCallOptions): Promise<boolean>
  list (kind: ObjectKind, options?: StoreCallOptions): AsyncIterable<string>
  delete (kind: ObjectKind, name: string, options?: StoreCallOptions): Promise<void>
  usage (options?: StoreCallOptions): Promise<StoreUsage>
  /**
   * Optional hint: false when the store is known to be unreachable right now (a peer that presence sees
   * offline). Callers try such a store last; they still may try it.
   */
  reachable?: () => boolean
  /**
   * Optional: since when the store has been unreachable (ms since the epoch; a peer's last seen time), or
   * undefined when it is reachable or that is unknown. Repair regenerates the shards of a store away longer
   * than its grace.
   */
  offlineSince?: () => number | undefined
  /**
   * Optional, while the store is unreachable: how long it is usually away and how long this node has
   * watched it absent (a peer's rhythm, src/node/rhythm.ts). A store away far longer than usual is
   * overdue: repair does not wait out the whole grace for it when a pack's margin is thin.
   */
  rhythm?: () => StoreRhythm | undefined
  /** Optional: bytes this store can still take for us (a peer's quota less what we keep there), if known. */
  freeBytes?: () => number | undefined
  /** Optional: what the user calls this store (a peer's name), for reports. */
  readonly label?: string
  /** Optional: the failure domain the store stands in (a peer's site), for placement. */
  readonly site?: string
  /**
   * Optional: answers an audit challenge for an object without sending it whole (NotFoundError when
   * absent). The caller verifies the answer against the Merkle root it keeps; the store is not trusted.
   */
  prove?: (kind: ObjectKind, name: string, request: ProveRequest, options?: StoreCallOptions) => Promise<ProveAnswer>
  /** Optional: what the store's own scrub found corrupt among our objects (a peer host), oldest first. */
  damaged?: (options?: StoreCallOptions) => Promise<DamagedReport[]>
  /**
   * Optional quarantine: takes an object out of use without destroying it. It no longer lists, reads or
   * counts against a quota; the store deletes it once `graceMs` have passed (a host may keep it for less,
   * see HostStore). Prune quarantines the shards no record accounts for, instead of deleting them.
   * Quarantining an absent object is harmless.
   */
  quarantine?: (kind: ObjectKind, name: string, graceMs: number, options?: StoreCallOptions) => Promise<void>
  /**
   * Optional: brings a quarantined object back into use; false when the store has none of that name
   * (never quarantined, or its grace is over). Repair tries it before regenerating a missing shard.
   */
  release?: (kind: ObjectKind, name: string, options?: StoreCallOptions) => Promise<boolean>
  /**
   * Optional: deletes the quarantined objects whose grace is over; returns how many. Stores the owner
   * keeps itself (directories) are purged by prune; a host purges what it keeps on its own schedule.
   */
  purgeQuarantine?: (options?: StoreCallOptions) => Promise<number>
  /** Releases resources; harmless to call twice. */
  close (): Promise<void>
}
