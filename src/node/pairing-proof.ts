import { createHmac, timingSafeEqual } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'

/**
 * The proofs exchanged by the pairing protocol. Each side proves it knows the invite's secret without
 * sending it: HMAC-SHA-256 keyed with the secret over a domain label, the side's role, both peer ids
 * and both fresh nonces. The role keeps one side's proof from being reflected back as the other's; the
 * peer ids (the ones Noise authenticated for this connection) keep a proof from being replayed on a
 * connection between other peers; the nonces keep it from being replayed in a later session.
 * Every variable-length field is length-prefixed, so no two inputs concatenate to the same bytes.
 */
export type PairingRole = 'inviter' | 'acceptor'

export const PAIRING_PROOF_LABEL = 'holdfast-pair-v1'

export function pairingProof (secret: Uint8Array, role: PairingRole, inviter: PeerId, acceptor: PeerId, nonceA: Uint8Array, nonceB: Uint8Array): Uint8Array {
  const mac = createHmac('sha256', secret)
  for (const part of [Buffer.from(PAIRING_PROOF_LABEL), Buffer.from(role), inviter.toMultihash().bytes, acceptor.toMultihash().bytes, nonceA, nonceB]) {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(part.length)
    mac.update(len)
    mac.update(part)
  }
  return new Uint8Array(mac.digest())
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches (received: Uint8Array, expected: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected)
}
