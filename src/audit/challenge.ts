/**
 * Audit challenges: the owner asks a host for a few random segments of a shard, with their Merkle paths,
 * and checks them against the root it kept (PackDescriptor: shard root, shardSize, segmentSize). The owner
 * never needs the shard itself; the host cannot answer without the challenged segments' bytes.
 *
 * Exchange:
 *   owner: createChallenge({ shardSize, segmentSize, count })      -> { nonce, indices }   (sent to the host)
 *   host:  answerChallenge(shard, segmentSize, challenge)            -> { nonce, proofs }    (sent back)
 *   owner: verifyAnswer({ root, shardSize, segmentSize }, challenge, answer) -> { ok, failed, reason? }
 *
 * The indices follow from the nonce (32 random bytes), so the owner can keep just the nonce and the
 * count, and a host learns which segments will be asked only when the challenge arrives:
 *   block j = SHA-256("holdfast/audit-challenge/v1" || nonce || uint32be(j)), read as 8 uint32be words;
 *   a uniform draw below n takes the next word w, rejecting w >= floor(2^32 / n) * n, and is w mod n;
 *   draw i (i = 0 .. count - 1) is a partial Fisher-Yates step over [0, leaves): swap position i with
 *   i + draw(leaves - i); the first `count` positions, sorted ascending, are the indices.
 * That gives `count` distinct indices, every subset equally likely. verifyAnswer recomputes them and
 * refuses a challenge whose indices don't follow from its nonce.
 *
 * What an answer proves: the host had the challenged segments' bytes when it answered. A host that kept
 * the tree's node hashes but dropped data fails exactly the dropped segments it is asked for (the sampling
 * model of detection.ts); a host that rebuilds the tree from what it holds, as answerChallenge does, fails
 * every index as soon as any byte of the shard is wrong, since every path has a node above the damage.
 * A host that cached earlier answers can repeat the segments it was asked before, which is storing them.
 *
 * Size of an answer: one proof is the segment (segmentSize bytes, the last one may be shorter), its
 * index, and a path of at most ceil(log2(leaves)) hashes of 32 bytes. With 1 KiB segments a 4 MiB
 * shard has 4096 leaves, so a proof carries 1024 + 12 x 32 = 1408 bytes of payload, under 1.5 KiB
 * once encoded (test/unit/challenge.test.ts measures it in CBOR); the nonce adds 32 bytes per answer.
 * A challenge asks for at most MAX_CHALLENGE_SEGMENTS segments.
 */
import { createHash, randomBytes } from 'node:crypto'
import { ConfigError, ProtocolError } from '../errors.js'
import { leafCount, maxPathLength, merkleProofs, verifyMerkleProof } from './merkle.js'
import type { MerkleProof } from './merkle.js'

/** Bytes of a challenge's nonce. */
export const NONCE_SIZE = 32

/**
 * Most segments one challenge may ask for. 512 covers the 459 segments that catch, with 99% probability,
 * a host that lost 1% of a shard (src/audit/detection.ts), and bounds an answer for a 4 MiB shard with
 * 1 KiB segments to about 512 x 1.4 KiB = 704 KiB of payload (768 KiB at the 64 MiB object limit, whose
 * paths have 16 hashes). The shard protocol's control frames (64 KiB) hold 44 proofs of a 4 MiB shard, so
 * a larger answer has to travel as data or over several frames.
 */
export const MAX_CHALLENGE_SEGMENTS = 512

const INDEX_DOMAIN = Buffer.from('holdfast/audit-challenge/v1', 'utf8')
const NODE = 32

export interface Challenge {
  /** 32 random bytes; the answer repeats them. */
  nonce: Uint8Array
  /** Distinct segment indices, ascending, derived from the nonce. */
  indices: number[]
}

export interface ChallengeAnswer {
  /** The challenge's nonce, repeated. */
  nonce: Uint8Array
  /** One proof per challenged index, in the challenge's order. */
  proofs: MerkleProof[]
}

export interface ChallengeInit {
  shardSize: number
  segmentSize: number
  /** Segments to ask for: 1 .. MAX_CHALLENGE_SEGMENTS; a shard with fewer segments has all of them asked. */
  count: number
  /** Source of the nonce (default crypto.randomBytes); tests pass a seeded one. */
  random?: (size: number) => Uint8Array
}

/** What the owner kept of a shard: its Merkle root (bytes or hex) and the sizes the tree was built with. */
export interface ExpectedShard {
  root: Uint8Array | string
  shardSize: number
  segmentSize: number
}

export interface AnswerVerdict {
  ok: boolean
  /** Challenged indices that were not proven, ascending. */
  failed: number[]
  /** The first problem found, for logs. */
  reason?: string
}

function checkSizes (shardSize: number, segmentSize: number): number {
  if (!Number.isSafeInteger(shardSize) || shardSize < 0) throw new ConfigError(`invalid shard size ${String(shardSize)}`)
  return leafCount(shardSize, segmentSize) // checks the segment size
}

function checkNonce (nonce: unknown): nonce is Uint8Array {
  return nonce instanceof Uint8Array && nonce.length === NONCE_SIZE
}

/**
 * The `count` indices that `nonce` selects among `leaves` segments (see the header for the derivation).
 * `count` is at most `leaves`.
 */
export function challengeIndices (nonce: Uint8Array, leaves: number, count: number): number[] {
  if (!checkNonce(nonce)) throw new ConfigError(`a challenge nonce has ${NONCE_SIZE} bytes`)
  if (!Number.isSafeInteger(leaves) || leaves < 1 || leaves > 2 ** 32) throw new ConfigError(`invalid leaf count ${String(leaves)}`)
  if (!Number.isSafeInteger(count) || count < 0 || count > leaves) {
    throw new ConfigError(`cannot choose ${String(count)} of ${leaves} segments`)
  }
  let block = Buffer.alloc(0)
  let word = 8
  let counter = 0
  const next = (): number => {
    if (word === 8) {
      const c = Buffer.allocUnsafe(4)
      c.writeUInt32BE(counter++)
      block = createHash('sha256').update(INDEX_DOMAIN).update(nonce).update(c).digest()
      word = 0
    }
    return block.readUInt32BE(4 * word++)
  }
  const below = (n: number): number => {
    const limit = Math.floor(2 ** 32 / n) * n
    for (;;) {
      const w = next()
      if (w < limit) return w % n
    }
  }
  // Partial Fisher-Yates over [0, leaves), with only the moved positions stored.
  const moved = new Map<number, number>()
  const at = (i: number): number => moved.get(i) ?? i
  const chosen: number[] = []
  for (let i = 0; i < count; i++) {
    const j = i + below(leaves - i)
    const pick = at(j)
    moved.set(j, at(i))
    chosen.push(pick)
  }
  return chosen.sort((a, b) => a - b)
}

/**
 * A new challenge for a shard: a random nonce and the min(count, leaves) segment indices it selects.
 * Throws ConfigError for bad sizes or a count outside 1 .. MAX_CHALLENGE_SEGMENTS.
 */
export function createChallenge (init: ChallengeInit): Challenge {
  const { shardSize, segmentSize, count } = init
  const leaves = checkSizes(shardSize, segmentSize)
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_CHALLENGE_SEGMENTS) {
    throw new ConfigError(`a challenge asks for 1 to ${MAX_CHALLENGE_SEGMENTS} segments, not ${String(count)}`)
  }
  const nonce = new Uint8Array((init.random ?? randomBytes)(NONCE_SIZE))
  if (nonce.length !== NONCE_SIZE) throw new ConfigError(`the random source gave ${nonce.length} bytes, not ${NONCE_SIZE}`)
  return { nonce, indices: challengeIndices(nonce, leaves, Math.min(count, leaves)) }
}

/**
 * The host's answer: the challenged segments of `shard` with their paths (one tree built for all).
 * The challenge comes from a peer: throws ProtocolError if its nonce is not 32 bytes, or its indices are
 * not 1 .. MAX_CHALLENGE_SEGMENTS ascending distinct segments of this shard.
 */
export function answerChallenge (shard: Uint8Array, segmentSize: number, challenge: Challenge): ChallengeAnswer {
  const leaves = leafCount(shard.length, segmentSize)
  const { nonce, indices } = (challenge ?? {}) as Partial<Challenge>
  if (!checkNonce(nonce)) throw new ProtocolError(`a challenge nonce has ${NONCE_SIZE} bytes`)
  if (!Array.isArray(indices) || indices.length < 1 || indices.length > MAX_CHALLENGE_SEGMENTS) {
    throw new ProtocolError(`a challenge asks for 1 to ${MAX_CHALLENGE_SEGMENTS} segments`)
  }
  let previous = -1
  for (const index of indices) {
    if (!Number.isSafeInteger(index) || index <= previous || index >= leaves) {
      throw new ProtocolError(`challenge indices must be ascending segments below ${leaves}, got ${String(index)} after ${previous}`)
    }
    previous = index
  }
  return { nonce: new Uint8Array(nonce), proofs: merkleProofs(shard, indices, segmentSize) }
}

/**
 * Bytes of payload in one proof, at most: a whole segment and the longest path. Encoding adds a few bytes
 * per field (about 40 in CBOR for a 12-hash path).
 */
export function proofPayloadBytes (shardSize: number, segmentSize: number): number {
  const leaves = checkSizes(shardSize, segmentSize)
  return Math.min(segmentSize, shardSize) + NODE * maxPathLength(leaves)
}

function rootBytes (root: Uint8Array | string): Uint8Array {
  if (root instanceof Uint8Array && root.length === NODE) return root
  if (typeof root === 'string' && /^[0-9a-fA-F]{64}$/.test(root)) return new Uint8Array(Buffer.from(root, 'hex'))
  throw new ConfigError('a shard root is 32 bytes or 64 hex digits')
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

/**
 * Checks a host's answer against what the owner kept. Never throws on a malformed answer (it comes from
 * the host); throws ConfigError for a bad `expected` or a challenge that is not one createChallenge makes
 * for this shard (indices not following from the nonce), which are the caller's own mistakes.
 *
 * Proof i must be for the challenge's index i: a missing, duplicated or reordered proof fails the indices
 * at the positions it occupies; proofs beyond the asked ones make the answer fail (ok false) without failing
 * an index. An answer whose nonce differs from the challenge's (an old answer replayed) fails every index.
 * `failed` lists the challenged indices that were not proven, ascending.
 */
export function verifyAnswer (expected: ExpectedShard, challenge: Challenge, answer: ChallengeAnswer): AnswerVerdict {
  const root = rootBytes(expected.root)
  const { shardSize, segmentSize } = expected
  const leaves = checkSizes(shardSize, segmentSize)
  const indices = challenge.indices
  if (!Array.isArray(indices) || indices.length < 1 || indices.length > Math.min(MAX_CHALLENGE_SEGMENTS, leaves)) {
    throw new ConfigError('not a challenge for this shard: wrong number of indices')
  }
  const derived = challengeIndices(challenge.nonce, leaves, indices.length)
  if (derived.some((index, i) => index !== indices[i])) {
    throw new ConfigError('not a challenge for this shard: its indices do not follow from its nonce')
  }
  const all = (reason: string): AnswerVerdict => ({ ok: false, failed: [...indices], reason })

  if (answer === null || typeof answer !== 'object') return all('the answer is not an object')
  if (!checkNonce(answer.nonce)) return all(`the answer's nonce is not ${NONCE_SIZE} bytes`)
  if (!sameBytes(answer.nonce, challenge.nonce)) return all('the answer is for another challenge (nonce differs)')
  const proofs = answer.proofs
  if (!Array.isArray(proofs)) return all('the answer has no list of proofs')

  const failed: number[] = []
  let reason: string | undefined
  const fail = (index: number, why: string): void => {
    failed.push(index)
    reason ??= why
  }
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]
    const proof = proofs[i] as MerkleProof | undefined
    if (i >= proofs.length) {
      fail(index, `proof ${i} (segment ${index}) is missing`)
    } else if (proof === null || typeof proof !== 'object' || proof.index !== index) {
      fail(index, `proof ${i} is for segment ${String(proof?.index)}, not ${index}`)
    } else if (!(proof.segment instanceof Uint8Array) ||
      proof.segment.length !== (index === leaves - 1 ? shardSize - index * segmentSize : segmentSize)) {
      fail(index, `segment ${index} has the wrong length`)
    } else if (!verifyMerkleProof(root, leaves, proof, segmentSize)) {
      fail(index, `segment ${index} does not lead to the shard's root`)
    }
  }
  if (proofs.length > indices.length) reason ??= `the answer has ${proofs.length - indices.length} proofs more than asked`
  return {
    ok: failed.length === 0 && reason === undefined,
    failed,
    ...(reason !== undefined ? { reason } : {})
  }
}
