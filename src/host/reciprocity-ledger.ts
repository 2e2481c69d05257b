import type { Level } from 'level'
import type { StoreUsage } from '../store/shard-store.js'

/**
 * The reciprocity ledger: for each peer, what this node keeps for it (its usage in the host store, kept by
 * the store itself) and what it keeps for this node (recorded by the owner side from the peer's own usage
 * replies and from each put and delete it made there). The figures are the basis of fair exchange; this
 * ledger only keeps them.
 *
 * Keys in the host index: `storedby!PEER` -> StoredByRecord.
 */
export interface StoredByRecord extends StoreUsage {
  /** When the figures were last set or adjusted (ms since the epoch). */
  updatedAt: number
}

export interface LedgerEntry {
  peer: string
  /** What this node keeps for the peer. */
  hosted: StoreUsage
  /** What the peer keeps for this node, as last recorded. */
  storedBy: StoredByRecord
}

/** An object the host's scrub found corrupt and removed (`damaged!OWNER!KIND!NAME`). */
export interface DamagedRecord { at: number, reason: string }

/**
 * An object in quarantine on this host: when it may be deleted, its size, and its place in the order of
 * quarantine (`seq`, growing; the oldest goes first when an owner's quarantine is full).
 */
export interface QuarantineEntry { until: number, bytes: number, seq?: number }

export type IndexValue = StoreUsage | StoredByRecord | boolean | DamagedRecord | QuarantineEntry

const PREFIX = 'storedby!'

export class ReciprocityLedger {
  private readonly storedBy = new Map<string, StoredByRecord>()
  private tail: Promise<void> = Promise.resolve()

  constructor (
    private readonly db: Level<string, IndexValue>,
    private readonly hosted: (peer: string) => StoreUsage,
    private readonly hostedPeers: () => Iterable<string>
  ) {}

  /** Loads the recorded figures; called once by the host store when it opens. */
  async load (): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gte: PREFIX, lt: PREFIX.slice(0, -1) + '"' })) {
      this.storedBy.set(key.slice(PREFIX.length), value as StoredByRecord)
    }
  }

  /** What this node keeps for `peer`. */
  hostedFor (peer: string): StoreUsage {
    return this.hosted(peer)
  }

  /** What `peer` keeps for this node, as last recorded (zeros when nothing was). */
  storedByPeer (peer: string): StoredByRecord {
    return { ...(this.storedBy.get(peer) ?? { objects: 0, bytes: 0, updatedAt: 0 }) }
  }

  /** Sets what `peer` keeps for this node, e.g. from its usage reply. */
  async recordStoredBy (peer: string, usage: StoreUsage): Promise<void> {
    await this.update(peer, () => ({ objects: usage.objects, bytes: usage.bytes, updatedAt: Date.now() }))
  }

  /** Adjusts what `peer` keeps for this node by a put (positive) or a delete (negative). */
  async addStoredBy (peer: string, delta: StoreUsage): Promise<void> {
    await this.update(peer, old => ({
      objects: Math.max(0, old.objects + delta.objects),
      bytes: Math.max(0, old.bytes + delta.bytes),
      updatedAt: Date.now()
    }))
  }

  /** Every peer with figures either way. */
  entries (): LedgerEntry[] {
    const peers = new Set([...this.hostedPeers(), ...this.storedBy.keys()])
    return [...peers].sort().map(peer => ({ peer, hosted: this.hostedFor(peer), storedBy: this.storedByPeer(peer) }))
  }

  /** One write at a time, so the index ends with the figures the map holds. */
  private async update (peer: string, next: (old: StoredByRecord) => StoredByRecord): Promise<void> {
    const run = this.tail.then(async () => {
      const value = next(this.storedByPeer(peer))
      this.storedBy.set(peer, value)
      await this.db.put(PREFIX + peer, value)
    })
    this.tail = run.catch(() => {})
    await run
  }
}
