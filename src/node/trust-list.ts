import { join } from 'node:path'
import { TypedEventEmitter, type PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ConfigError, UnknownPeerError, UnsupportedFormatError } from '../errors.js'
import { JsonFile } from './json-file.js'
import { carryAbsence, newRhythm, noteAbsence, parseRhythm, type Rhythm } from './rhythm.js'

/**
 * The trust list: the peers this node has paired with, kept in HOME/trust.json (rewritten atomically
 * after every change, one write at a time). Only listed, unrevoked peers may connect (see gater.ts).
 * A revoked entry is kept, so the peer stays known and refused until it is paired again.
 *
 * One process owns the file: the daemon. Other processes go through the daemon's API rather than
 * writing it concurrently.
 */
export interface TrustEntry {
  /** The peer's id (base58btc string). */
  peerId: string
  /** What this node calls the peer. */
  name: string
  /** The site the peer said it stands at. */
  site: string
  /** Bytes this node grants the peer for its shards. */
  quotaGranted: number
  /** Bytes the peer said it grants this node. */
  quotaReceived: number
  /** The peer's last known multiaddrs. */
  addresses: string[]
  /** ISO time of pairing. */
  addedAt: string
  /** ISO time the peer was last seen connected, if ever. */
  lastSeen?: string
  /** Set once the peer is revoked. */
  revoked?: boolean
  /** ISO time of revocation. */
  revokedAt?: string
  /**
   * A device of an owner: the owner's peer id (this node's own, for its own second device), and what it
   * may do with that owner's objects. A device is no host: no shard of ours goes to it.
   */
  deviceOf?: string
  role?: DeviceRole
  /** This node granted the peer the admin role: it sees this node's status and starts its backups, audits and repairs (fleet). */
  admin?: boolean
  /** How long the peer is usually away, as this node watched it (rhythm.ts; presence records it). */
  rhythm?: Rhythm
}

/**
 * What a device may do with its owner's repository: read it (list, browse, restore), or write it too (back
 * up, prune, repair). `kit`: the owner's recovery kit reader (crypto/kit-escrow.ts), which may read the
 * owner's `key` objects on a host and nothing else; no node runs as one for longer than a recovery.
 */
export type DeviceRole = 'read' | 'write' | 'kit'
export const DEVICE_ROLES: readonly DeviceRole[] = ['read', 'write', 'kit']

export type NewTrustEntry = Pick<TrustEntry, 'peerId' | 'name' | 'site'> & Partial<Pick<TrustEntry, 'quotaGranted' | 'quotaReceived' | 'addresses' | 'deviceOf' | 'role'>>

export interface TrustListEvents {
  /** A peer was added (or paired again). */
  'peer:added': CustomEvent<TrustEntry>
  /** A peer was revoked: its connections should be closed. */
  'peer:revoked': CustomEvent<TrustEntry>
}

export const trustListPath = (home: string): string => join(home, 'trust.json')

const MAX_ADDRESSES = 16

type PeerRef = PeerId | string
const key = (p: PeerRef): string => typeof p === 'string' ? p : p.toString()

export class TrustList extends TypedEventEmitter<TrustListEvents> {
  private readonly file: JsonFile
  private readonly entries: Map<string, TrustEntry>

  private constructor (file: JsonFile, entries: TrustEntry[]) {
    super()
    this.file = file
    this.entries = new Map(entries.map((e) => [e.peerId, e]))
  }

  /** Loads the trust list of a home; a home without one has an empty list. */
  static async open (home: string): Promise<TrustList> {
    const file = new JsonFile(trustListPath(home))
    const path = file.path
    const doc = await file.read() as { version?: unknown, peers?: unknown } | undefined
    if (doc === undefined) return new TrustList(file, [])
    if (doc?.version !== 1) throw new UnsupportedFormatError(`${path}: trust list version ${String(doc?.version)} is not supported`)
    if (!Array.isArray(doc.peers) || !doc.peers.every(isEntry)) throw new ConfigError(`${path} holds a malformed trust entry`)
    // a peer's rhythm is a hint: a malformed one is dropped, not a reason to refuse the list
    for (const e of doc.peers) {
      const rhythm = parseRhythm(e.rhythm)
      if (rhythm != null) e.rhythm = rhythm
      else delete e.rhythm
    }
    return new TrustList(file, doc.peers)
  }

  /** Whether the peer is listed and not revoked. */
  isTrusted (peer: PeerRef): boolean {
    const e = this.entries.get(key(peer))
    return e != null && e.revoked !== true
  }

  get (peer: PeerRef): TrustEntry | undefined {
    const e = this.entries.get(key(peer))
    return e == null ? undefined : copy(e)
  }

  /** Trusted peers that are hosts: not devices (which keep nothing of ours). */
  hosts (): TrustEntry[] {
    return this.list().filter(e => e.deviceOf == null)
  }

  /** Trusted peers; revoked ones too when asked. */
  list (options: { includeRevoked?: boolean } = {}): TrustEntry[] {
    return [...this.entries.values()].filter((e) => options.includeRevoked === true || e.revoked !== true).map(copy)
  }

  /** Adds a peer, or replaces its entry (pairing again also lifts a revocation). */
  async add (entry: NewTrustEntry): Promise<TrustEntry> {
    const e: TrustEntry = {
      peerId: entry.peerId,
      name: entry.name,
      site: entry.site,
      quotaGranted: entry.quotaGranted ?? 0,
      quotaReceived: entry.quotaReceived ?? 0,
      addresses: (entry.addresses ?? []).slice(0, MAX_ADDRESSES),
      addedAt: new Date().toISOString(),
      ...(entry.deviceOf != null ? { deviceOf: entry.deviceOf, role: entry.role ?? 'read' } : {})
    }
    if (!isEntry(e)) throw new ConfigError(`invalid trust entry for ${entry.peerId}`)
    try { peerIdFromString(e.peerId) } catch (err) { throw new ConfigError(`invalid peer id ${JSON.stringify(e.peerId)}`, { cause: err }) }
    this.entries.set(e.peerId, e)
    await this.persist()
    this.safeDispatchEvent('peer:added', { detail: copy(e) })
    return copy(e)
  }

  /** Revokes a peer: it is refused from now on. UnknownPeerError if it was never listed. */
  async revoke (peer: PeerRef): Promise<TrustEntry> {
    const e = this.entries.get(key(peer))
    if (e == null) throw new UnknownPeerError(`peer ${key(peer)} is not on the trust list`)
    e.revoked = true
    e.revokedAt = new Date().toISOString()
    await this.persist()
    this.safeDispatchEvent('peer:revoked', { detail: copy(e) })
    return copy(e)
  }

  /** Grants or withdraws the admin role of a trusted peer (holdfast peers grant|ungrant PEER admin). */
  async setAdmin (peer: PeerRef, admin: boolean): Promise<TrustEntry> {
    const e = this.entries.get(key(peer))
    if (e == null || e.revoked === true) throw new UnknownPeerError(`peer ${key(peer)} is not a trusted peer`)
    if (e.deviceOf != null) throw new ConfigError(`${e.name} is a device, not a node of the office: it cannot be an admin`)
    if (admin) e.admin = true
    else delete e.admin
    await this.persist()
    return copy(e)
  }

  /** Records the peer's current addresses; returns false (and writes nothing) if unknown or unchanged. */
  async updateAddresses (peer: PeerRef, addresses: Array<string | Multiaddr>): Promise<boolean> {
    const e = this.entries.get(key(peer))
    if (e == null) return false
    const next = [...new Set(addresses.map(String))].slice(0, MAX_ADDRESSES)
    if (next.length === e.addresses.length && next.every((a, i) => a === e.addresses[i])) return false
    e.addresses = next
    await this.persist()
    return true
  }

  /**
   * Records when the peer was last seen connected, and, when it is back from an absence this node watched,
   * how long that absence was (its rhythm); returns false if the peer is unknown.
   */
  async updateLastSeen (peer: PeerRef, when: Date = new Date(), absentMs?: number): Promise<boolean> {
    const e = this.entries.get(key(peer))
    if (e == null) return false
    e.lastSeen = when.toISOString()
    e.rhythm = noteAbsence(e.rhythm ?? newRhythm(), when.getTime(), absentMs ?? 0)
    await this.persist()
    return true
  }

  /** Notes in the peers' rhythms that presence saw them online on `at`'s day. One write for all, and none when nothing changed. */
  async noteSeen (peers: Iterable<string>, at: number = Date.now()): Promise<void> {
    await this.changeRhythms([...peers].map(p => [p, r => noteAbsence(r, at, 0)]))
  }

  /**
   * Carries in the peers' rhythms what presence watched of their absences still going on when it stopped
   * watching (it stops, sleeps, or is cut off): added to the absence it records when it sees them again.
   */
  async carryAbsences (watched: Iterable<[string, number]>): Promise<void> {
    await this.changeRhythms([...watched].map(([p, ms]) => [p, r => carryAbsence(r, ms)]))
  }

  private async changeRhythms (changes: Array<[string, (r: Rhythm) => Rhythm]>): Promise<void> {
    let changed = false
    for (const [peer, change] of changes) {
      const e = this.entries.get(peer)
      if (e == null) continue
      const before = e.rhythm
      e.rhythm = change(e.rhythm ?? newRhythm())
      if (e.rhythm !== before) changed = true
    }
    if (changed) await this.persist()
  }

  /** Resolves once every change made so far is on disk. */
  async flush (): Promise<void> {
    await this.file.flush()
  }

  private async persist (): Promise<void> {
    await this.file.write({ version: 1, peers: [...this.entries.values()] })
  }
}

function copy (e: TrustEntry): TrustEntry {
  return { ...e, addresses: [...e.addresses], ...(e.rhythm != null ? { rhythm: { ...e.rhythm, days: e.rhythm.days.map(([d, ms]) => [d, ms] as [number, number]) } } : {}) }
}

const isQuota = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isTime = (v: unknown): boolean => typeof v === 'string' && !Number.isNaN(Date.parse(v))

function isEntry (v: unknown): v is TrustEntry {
  const e = v as TrustEntry
  return typeof e === 'object' && e !== null &&
    typeof e.peerId === 'string' && e.peerId.length > 0 &&
    typeof e.name === 'string' && typeof e.site === 'string' &&
    isQuota(e.quotaGranted) && isQuota(e.quotaReceived) &&
    Array.isArray(e.addresses) && e.addresses.every((a) => typeof a === 'string') &&
    isTime(e.addedAt) &&
    (e.lastSeen === undefined || isTime(e.lastSeen)) &&
    (e.revoked === undefined || typeof e.revoked === 'boolean') &&
    (e.revokedAt === undefined || isTime(e.revokedAt)) &&
    (e.deviceOf === undefined || (typeof e.deviceOf === 'string' && e.deviceOf.length > 0 && DEVICE_ROLES.includes(e.role as DeviceRole))) &&
    (e.role === undefined || e.deviceOf !== undefined) &&
    (e.admin === undefined || typeof e.admin === 'boolean')
}
