import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { PairingError } from '../errors.js'
import { decodeCbor, encodeCbor } from './cbor.js'
import { isValidLabel } from './profile.js'

/**
 * Invite codes: one line, `hf1-` followed by the base64url encoding of a CBOR map. The code carries
 * everything the acceptor needs to reach the inviter and prove it holds the invite: the inviter's peer
 * id and addresses, the invite's id, a 32-byte secret (never sent over the wire afterwards, only used
 * as an HMAC key) and the expiry; plus the inviter's name and site, to show before accepting.
 * Whoever holds the code can pair with the inviter until it is used or expires: hand it over privately.
 */
export interface InvitePayload {
  /** Identifies the pending invite at the inviter (16 random bytes, hex). */
  id: string
  /** The inviter's peer id. */
  peerId: string
  /** The inviter's multiaddrs at the time of the invite. */
  addrs: string[]
  /** 32 random bytes. */
  secret: Uint8Array
  /** Expiry, in milliseconds since the epoch. */
  expires: number
  /** The inviter's node name. */
  name?: string
  /** The inviter's site. */
  site?: string
}

export const INVITE_PREFIX = 'hf1-'
export const INVITE_ID_BYTES = 16
export const INVITE_SECRET_BYTES = 32
export const MAX_INVITE_ADDRS = 8
const MAX_CODE_LENGTH = 4096
const MAX_ADDR_LENGTH = 256

export function encodeInvite (p: InvitePayload): string {
  const bytes = encodeCbor(toMap({ ...p, addrs: p.addrs.slice(0, MAX_INVITE_ADDRS) }))
  validate(decodeCbor(bytes)) // what we hand out must decode
  return INVITE_PREFIX + Buffer.from(bytes).toString('base64url')
}

/** Parses and validates a code; PairingError naming what is wrong. */
export function decodeInvite (code: string): InvitePayload {
  const text = code.trim()
  if (!text.startsWith(INVITE_PREFIX)) throw new PairingError(`not a Holdfast invite code (it should start with "${INVITE_PREFIX}")`)
  if (text.length > MAX_CODE_LENGTH) throw new PairingError('invite code is too long')
  const b64 = text.slice(INVITE_PREFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(b64)) throw new PairingError('invite code contains characters outside base64url (was it cut or altered?)')
  let value: unknown
  try { value = decodeCbor(Buffer.from(b64, 'base64url')) } catch (err) {
    throw new PairingError('invite code is damaged (it does not decode)', { cause: err })
  }
  return validate(value)
}

function toMap (p: InvitePayload): Record<string, unknown> {
  const map: Record<string, unknown> = { v: 1, i: Buffer.from(p.id, 'hex'), p: p.peerId, a: p.addrs, s: p.secret, e: p.expires }
  if (p.name != null) map.n = p.name
  if (p.site != null) map.t = p.site
  return map
}

function validate (value: unknown): InvitePayload {
  const bad = (what: string): Error => new PairingError(`invite code is damaged: ${what}`)
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) throw bad('not a map')
  const m = value as Record<string, unknown>
  for (const k of Object.keys(m)) if (!['v', 'i', 'p', 'a', 's', 'e', 'n', 't'].includes(k)) throw bad(`unknown field "${k}"`)
  if (m.v !== 1) throw new PairingError(`invite code version ${String(m.v)} is not supported by this version of Holdfast`)
  if (!(m.i instanceof Uint8Array) || m.i.length !== INVITE_ID_BYTES) throw bad('invite id')
  if (typeof m.p !== 'string') throw bad('peer id')
  try { peerIdFromString(m.p) } catch { throw bad('peer id') }
  if (!Array.isArray(m.a) || m.a.length === 0 || m.a.length > MAX_INVITE_ADDRS) throw bad('addresses')
  for (const a of m.a) {
    if (typeof a !== 'string' || a.length > MAX_ADDR_LENGTH) throw bad('addresses')
    try { multiaddr(a) } catch { throw bad(`address ${JSON.stringify(a)}`) }
  }
  if (!(m.s instanceof Uint8Array) || m.s.length !== INVITE_SECRET_BYTES) throw bad('secret')
  if (typeof m.e !== 'number' || !Number.isSafeInteger(m.e) || m.e <= 0) throw bad('expiry')
  if (m.n !== undefined && !isValidLabel(m.n)) throw bad('name')
  if (m.t !== undefined && !isValidLabel(m.t)) throw bad('site')
  const p: InvitePayload = { id: Buffer.from(m.i).toString('hex'), peerId: m.p, addrs: m.a as string[], secret: new Uint8Array(m.s), expires: m.e }
  if (m.n !== undefined) p.name = m.n as string
  if (m.t !== undefined) p.site = m.t as string
  return p
}
