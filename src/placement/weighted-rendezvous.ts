import { hash } from 'node:crypto'

const TWO_POW_53 = 2 ** 53

/** SHA-256 of the parts (NUL-separated), its first 53 bits mapped into the open interval (0, 1). */
export function hashToUnit (parts: readonly string[]): number {
  // one-shot: a Hash object per score made placement's hashing half its time (the scale study's profile)
  const d = hash('sha256', parts.join('\0'), 'buffer')
  const top53 = d.readUIntBE(0, 6) * 32 + (d[6] >> 3)
  return (top53 + 0.5) / TWO_POW_53
}

/**
 * The weighted rendezvous (highest random weight) score of a peer for a pack: -weight / ln(u), with u
 * from SHA-256(pack id, peer id) in (0, 1). Over many packs, the peer with the highest score is each peer
 * with probability weight / (sum of weights); the score of one peer never depends on the others, so a
 * peer joining or leaving moves only the packs it wins or held. Weight 0 gives 0 (never ahead of a
 * positive weight).
 */
export function weightedScore (packId: string, peerId: string, weight: number): number {
  return -weight / Math.log(hashToUnit(['peer', packId, peerId]))
}

/** The unweighted score of a peer for one shard index of a pack, in (0, 1); used to give chosen peers their indices. */
export function indexScore (packId: string, index: number, peerId: string): number {
  return hashToUnit(['index', packId, String(index), peerId])
}
