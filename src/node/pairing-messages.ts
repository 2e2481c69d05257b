import { multiaddr } from '@multiformats/multiaddr'
import type { AbortOptions } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import { PairingError } from '../errors.js'
import { decodeCbor, encodeCbor } from './cbor.js'
import { INVITE_ID_BYTES } from './invite-code.js'
import { isValidLabel } from './profile.js'

/**
 * The messages of /holdfast/pair/1.0.0, each a length-prefixed CBOR map of at most MAX_PAIR_MESSAGE
 * bytes, in this order (A = acceptor, who dials; I = inviter):
 *
 *   A -> I  hello      invite id, nonce A
 *   I -> A  challenge  nonce B                                   (or reject: unknown / expired / used / busy)
 *   A -> I  proof      A's proof, A's name, site, quota, addrs   (I checks the proof)
 *   I -> A  confirm    I's proof, I's name, site, quota          (or reject: wrong-secret)
 *   A -> I  done                                                 (or reject: bad-proof, if I's proof is wrong)
 *   I -> A  ack        I has added A to its trust list; A now adds I
 *
 * Anything else (unknown type, missing or extra field, wrong size) is a protocol error: the stream is
 * reset and nothing is added.
 */
export const MAX_PAIR_MESSAGE = 4096
export const NONCE_BYTES = 32
export const PROOF_BYTES = 32
const MAX_ADDRS = 16
const MAX_ADDR_LENGTH = 256

export type RejectReason = 'unknown-invite' | 'expired' | 'used' | 'busy' | 'wrong-secret' | 'bad-proof'
const REJECT_REASONS: readonly RejectReason[] = ['unknown-invite', 'expired', 'used', 'busy', 'wrong-secret', 'bad-proof']

export interface Hello { t: 'hello', invite: string, nonce: Uint8Array }
export interface Challenge { t: 'challenge', nonce: Uint8Array }
export interface Proof { t: 'proof', mac: Uint8Array, name: string, site: string, quota: number, addrs: string[] }
export interface Confirm { t: 'confirm', mac: Uint8Array, name: string, site: string, quota: number }
export interface Done { t: 'done' }
export interface Ack { t: 'ack' }
export interface Reject { t: 'reject', reason: RejectReason }
export type PairMessage = Hello | Challenge | Proof | Confirm | Done | Ack | Reject

/** What the side receiving a reject reports. */
export function rejectedMessage (reason: RejectReason): string {
  switch (reason) {
    case 'unknown-invite': return 'the inviter does not know this invite (cancelled, or made by another node)'
    case 'expired': return 'the invite has expired'
    case 'used': return 'the invite has already been used'
    case 'busy': return 'another pairing with this invite is in progress; try again'
    case 'wrong-secret': return 'the inviter rejected our proof: wrong invite secret (was the code altered?)'
    case 'bad-proof': return 'the acceptor rejected our proof of the invite secret'
  }
}

/** What the side sending a reject reports. */
export function refusedMessage (reason: RejectReason): string {
  switch (reason) {
    case 'unknown-invite': return 'refused a pairing attempt with an unknown invite'
    case 'expired': return 'refused a pairing attempt with an expired invite'
    case 'used': return 'refused a pairing attempt with an invite that was already used'
    case 'busy': return 'refused a pairing attempt while another one with the same invite is in progress'
    case 'wrong-secret': return 'the acceptor could not prove it knows the invite secret (wrong secret)'
    case 'bad-proof': return 'the inviter could not prove it knows the invite secret (wrong secret)'
  }
}

export async function writeMessage (lp: LengthPrefixedStream, msg: PairMessage, options: AbortOptions): Promise<void> {
  const wire: Record<string, unknown> = { ...msg }
  if (msg.t === 'hello') wire.invite = Buffer.from(msg.invite, 'hex')
  await lp.write(encodeCbor(wire), options)
}

/**
 * Reads the next message and checks it is of the expected type. A reject is turned into a
 * PairingError carrying the peer's reason; anything malformed into a PairingError too.
 */
export async function readMessage<T extends PairMessage['t']> (lp: LengthPrefixedStream, expected: T, from: 'inviter' | 'acceptor', options: AbortOptions): Promise<Extract<PairMessage, { t: T }>> {
  let bytes: Uint8Array
  try {
    bytes = (await lp.read(options)).subarray()
  } catch (err) {
    if (options.signal?.aborted === true) throw new PairingError(`pairing timed out or was cancelled while waiting for "${expected}"`, { cause: err })
    const name = (err as Error).name
    if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError') {
      throw new PairingError(`pairing protocol error: a message larger than ${MAX_PAIR_MESSAGE} bytes, or a bad length prefix`, { cause: err })
    }
    throw new PairingError(`the ${from} broke off the pairing handshake before "${expected}" (${(err as Error).message})`, { cause: err })
  }
  const msg = parseMessage(bytes)
  if (msg.t === 'reject') throw new PairingError(rejectedMessage(msg.reason))
  if (msg.t !== expected) throw new PairingError(`pairing protocol error: expected "${expected}", got "${msg.t}"`)
  return msg as Extract<PairMessage, { t: T }>
}

/** Decodes and validates one message; PairingError if it is not exactly one of the types above. */
export function parseMessage (bytes: Uint8Array): PairMessage {
  let v: unknown
  try { v = decodeCbor(bytes) } catch (err) { throw new PairingError('pairing protocol error: message is not valid CBOR', { cause: err }) }
  const bad = (what: string): Error => new PairingError(`pairing protocol error: ${what}`)
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw bad('message is not a map')
  const m = v as Record<string, unknown>
  const fields = (...names: string[]): void => {
    for (const k of Object.keys(m)) if (k !== 't' && !names.includes(k)) throw bad(`unexpected field "${k}" in "${String(m.t)}"`)
  }
  const bytesOf = (k: string, len: number): Uint8Array => {
    const x = m[k]
    if (!(x instanceof Uint8Array) || x.length !== len) throw bad(`"${k}" must be ${len} bytes`)
    return new Uint8Array(x)
  }
  const label = (k: string): string => {
    if (!isValidLabel(m[k])) throw bad(`"${k}" must be 1-64 printable characters`)
    return m[k] as string
  }
  const quota = (): number => {
    const q = m.quota
    if (typeof q !== 'number' || !Number.isSafeInteger(q) || q < 0) throw bad('"quota" must be a non-negative integer')
    return q
  }
  switch (m.t) {
    case 'hello':
      fields('invite', 'nonce')
      return { t: 'hello', invite: Buffer.from(bytesOf('invite', INVITE_ID_BYTES)).toString('hex'), nonce: bytesOf('nonce', NONCE_BYTES) }
    case 'challenge':
      fields('nonce')
      return { t: 'challenge', nonce: bytesOf('nonce', NONCE_BYTES) }
    case 'proof': {
      fields('mac', 'name', 'site', 'quota', 'addrs')
      const addrs = m.addrs
      if (!Array.isArray(addrs) || addrs.length > MAX_ADDRS) throw bad(`"addrs" must be an array of at most ${MAX_ADDRS} multiaddrs`)
      for (const a of addrs) {
        if (typeof a !== 'string' || a.length > MAX_ADDR_LENGTH) throw bad('"addrs" holds a non-string or overlong entry')
        try { multiaddr(a) } catch { throw bad(`"addrs" holds an invalid multiaddr ${JSON.stringify(a)}`) }
      }
      return { t: 'proof', mac: bytesOf('mac', PROOF_BYTES), name: label('name'), site: label('site'), quota: quota(), addrs: addrs as string[] }
    }
    case 'confirm':
      fields('mac', 'name', 'site', 'quota')
      return { t: 'confirm', mac: bytesOf('mac', PROOF_BYTES), name: label('name'), site: label('site'), quota: quota() }
    case 'done':
      fields()
      return { t: 'done' }
    case 'ack':
      fields()
      return { t: 'ack' }
    case 'reject':
      fields('reason')
      if (!REJECT_REASONS.includes(m.reason as RejectReason)) throw bad('unknown reject reason')
      return { t: 'reject', reason: m.reason as RejectReason }
    default:
      throw bad(`unknown message type ${JSON.stringify(m.t)}`)
  }
}
