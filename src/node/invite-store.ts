import { join } from 'node:path'
import { ConfigError, UnsupportedFormatError } from '../errors.js'
import { JsonFile } from './json-file.js'

/**
 * The inviter's pending invites, kept in HOME/invites.json (mode 0600: it holds the secrets) so a
 * daemon restart keeps them. An invite works once: it is marked used when a pairing with it
 * completes. Records are dropped USED_GRACE_MS after their use or expiry; until then a late or
 * repeated attempt still gets a precise answer ("already used", "expired") instead of a refused
 * connection.
 */
export interface PendingInvite {
  /** 16 random bytes, hex. */
  id: string
  /** 32 random bytes, hex. */
  secret: string
  /** Milliseconds since the epoch. */
  expires: number
  /** Bytes granted to whoever accepts. */
  quota: number
  /** What this node will call the peer that accepts (default: the name it announces). */
  name?: string
  /** An invite for a second device of this node's owner (holdfast device link), with its role. */
  device?: 'read' | 'write'
  createdAt: string
  usedAt?: string
  usedBy?: string
}

/** How long used and expired invites are remembered (and keep the invite window open). */
export const USED_GRACE_MS = 10 * 60_000

export const invitesPath = (home: string): string => join(home, 'invites.json')

export class InviteStore {
  private readonly file: JsonFile
  private readonly invites: Map<string, PendingInvite>
  private readonly now: () => number

  private constructor (file: JsonFile, invites: PendingInvite[], now: () => number) {
    this.file = file
    this.invites = new Map(invites.map((i) => [i.id, i]))
    this.now = now
  }

  static async open (home: string, options: { now?: () => number } = {}): Promise<InviteStore> {
    const file = new JsonFile(invitesPath(home))
    const doc = await file.read() as { version?: unknown, invites?: unknown } | undefined
    if (doc === undefined) return new InviteStore(file, [], options.now ?? Date.now)
    if (doc?.version !== 1) throw new UnsupportedFormatError(`${file.path}: invites version ${String(doc?.version)} is not supported`)
    if (!Array.isArray(doc.invites) || !doc.invites.every(isInvite)) throw new ConfigError(`${file.path} holds a malformed invite`)
    return new InviteStore(file, doc.invites, options.now ?? Date.now)
  }

  get (id: string): PendingInvite | undefined {
    const i = this.invites.get(id)
    return i == null ? undefined : { ...i }
  }

  /** Invites that can still be answered: unused and unexpired. */
  listOpen (): PendingInvite[] {
    const now = this.now()
    return [...this.invites.values()].filter((i) => i.usedAt == null && i.expires > now).map((i) => ({ ...i }))
  }

  /**
   * Whether a pairing attempt from an unknown peer deserves an answer: some invite is open, or was
   * used or expired less than USED_GRACE_MS ago.
   */
  windowOpen (): boolean {
    const now = this.now()
    for (const i of this.invites.values()) if (now < closesAt(i)) return true
    return false
  }

  async add (invite: PendingInvite): Promise<void> {
    if (!isInvite(invite)) throw new ConfigError('invalid invite')
    this.invites.set(invite.id, { ...invite })
    await this.persist()
  }

  async markUsed (id: string, peerId: string): Promise<void> {
    const i = this.invites.get(id)
    if (i == null) return
    i.usedAt = new Date(this.now()).toISOString()
    i.usedBy = peerId
    await this.persist()
  }

  /** Withdraws an invite; returns whether it existed. */
  async remove (id: string): Promise<boolean> {
    const had = this.invites.delete(id)
    if (had) await this.persist()
    return had
  }

  async flush (): Promise<void> {
    await this.file.flush()
  }

  private async persist (): Promise<void> {
    const now = this.now()
    for (const [id, i] of this.invites) if (now >= closesAt(i)) this.invites.delete(id)
    await this.file.write({ version: 1, invites: [...this.invites.values()] })
  }
}

function closesAt (i: PendingInvite): number {
  const used = i.usedAt == null ? Infinity : Date.parse(i.usedAt)
  return Math.min(i.expires, used) + USED_GRACE_MS
}

const isHex = (v: unknown, bytes: number): boolean => typeof v === 'string' && v.length === bytes * 2 && /^[0-9a-f]+$/.test(v)

function isInvite (v: unknown): v is PendingInvite {
  const i = v as PendingInvite
  return typeof i === 'object' && i !== null &&
    isHex(i.id, 16) && isHex(i.secret, 32) &&
    Number.isSafeInteger(i.expires) && Number.isSafeInteger(i.quota) && i.quota >= 0 &&
    (i.name === undefined || typeof i.name === 'string') &&
    typeof i.createdAt === 'string' &&
    (i.usedAt === undefined || typeof i.usedAt === 'string') &&
    (i.usedBy === undefined || typeof i.usedBy === 'string') &&
    (i.device === undefined || i.device === 'read' || i.device === 'write')
}
