/**
 * Merkle trees over the fixed-size segments of a shard, for proof-of-storage audits: the repository keeps
 * a shard's root and leaf count; to audit, it asks the holder for segment `index` and the path to the
 * root, and checks the answer with `verifyMerkleProof` without holding the shard itself.
 *
 * Format (part of the repository format, do not change without a format version bump):
 * - The data is cut into segments of `segmentSize` bytes (SEGMENT_SIZE by default); the last one may be
 *   shorter. Empty data has one leaf, the empty segment (so its root is SHA-256(0x00)).
 * - leaf  = SHA-256(0x00 || segment)
 * - inner = SHA-256(0x01 || left || right)
 *   The prefixes keep leaves and inner nodes apart, so an inner node can't be passed off as a segment.
 * - Levels are built left to right by pairing neighbours. A level with an odd number of nodes promotes its
 *   last node unchanged to the next level (it is not paired with itself, which would let two different
 *   leaf lists share a root, as in Bitcoin's CVE-2012-2459). The tree's shape thus follows from the leaf
 *   count alone, which is why the verifier takes `leafCount`.
 * - A proof's path lists the sibling hashes from the leaf level up, skipping levels where the node is
 *   promoted.
 * The root does not commit to the leaf count: the verifier takes it from its own records (with the root),
 * never from the prover.
 */
import * as crypto from 'node:crypto'
import { ConfigError } from '../errors.js'

export const SEGMENT_SIZE = 1024

/** Size of a hash, and of every node. */
const NODE = 32

export interface MerkleProof {
  /** Leaf index of the segment. */
  index: number
  /** The segment's bytes (the last segment may be shorter than the segment size). */
  segment: Uint8Array
  /** Sibling hashes from the leaf level up to just below the root. */
  path: Uint8Array[]
}

const LEAF_PREFIX = Uint8Array.of(0x00)
const INNER_PREFIX = Uint8Array.of(0x01)

type OneShotHash = (algorithm: string, data: Uint8Array, outputEncoding: 'buffer') => Buffer
/** `crypto.hash` (Node >= 20.12 / 21.7) skips the Hash object, which matters for 1 KiB inputs. */
const oneShot: OneShotHash | undefined = typeof (crypto as { hash?: unknown }).hash === 'function'
  ? (crypto as unknown as { hash: OneShotHash }).hash
  : undefined

function checkSegmentSize (segmentSize: number): void {
  if (!Number.isSafeInteger(segmentSize) || segmentSize < 1) {
    throw new ConfigError(`segment size must be a positive integer, got ${String(segmentSize)}`)
  }
}

/** Number of leaves for `length` bytes: ceil(length / segmentSize), and 1 for empty data. */
export function leafCount (length: number, segmentSize = SEGMENT_SIZE): number {
  checkSegmentSize(segmentSize)
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid length ${String(length)}`)
  return length === 0 ? 1 : Math.ceil(length / segmentSize)
}

/**
 * Writes SHA-256(prefix || body) to out[outOffset ..]. `scratch` must hold 1 + body.length bytes; it is
 * used to build the one-shot input when `crypto.hash` is available.
 */
function hashInto (prefix: Uint8Array, body: Uint8Array, scratch: Buffer, out: Buffer, outOffset: number): void {
  if (oneShot !== undefined) {
    scratch[0] = prefix[0]
    scratch.set(body, 1)
    const input = scratch.length === body.length + 1 ? scratch : scratch.subarray(0, body.length + 1)
    oneShot('sha256', input, 'buffer').copy(out, outOffset)
  } else {
    crypto.createHash('sha256').update(prefix).update(body).digest().copy(out, outOffset)
  }
}

/** Leaf hashes of all segments, one after another in a single buffer. */
function leafHashes (data: Uint8Array, segmentSize: number): Buffer {
  const n = leafCount(data.length, segmentSize)
  const nodes = Buffer.allocUnsafe(n * NODE)
  const scratch = Buffer.allocUnsafe(1 + Math.min(segmentSize, data.length))
  for (let i = 0; i < n; i++) {
    const start = i * segmentSize
    const end = Math.min(start + segmentSize, data.length)
    hashInto(LEAF_PREFIX, data.subarray(start, end), scratch, nodes, i * NODE)
  }
  return nodes
}

/**
 * Replaces the first `count` nodes in `nodes` by the next level up, in place; returns the new count.
 * Node j of the new level is read from nodes 2j and 2j + 1 before it overwrites node j (j <= 2j).
 */
function reduceLevel (nodes: Buffer, count: number, scratch: Buffer): number {
  const pairs = count >> 1
  for (let j = 0; j < pairs; j++) {
    hashInto(INNER_PREFIX, nodes.subarray(2 * j * NODE, (2 * j + 2) * NODE), scratch, nodes, j * NODE)
  }
  if ((count & 1) === 1) nodes.copy(nodes, pairs * NODE, (count - 1) * NODE, count * NODE) // promoted
  return pairs + (count & 1)
}

/** A plain Uint8Array copy (results don't alias the work buffer). */
function bytes (b: Buffer): Uint8Array {
  return new Uint8Array(b)
}

/** The Merkle root of `data` (32 bytes). */
export function merkleRoot (data: Uint8Array, segmentSize = SEGMENT_SIZE): Uint8Array {
  checkSegmentSize(segmentSize)
  const nodes = leafHashes(data, segmentSize)
  const scratch = Buffer.allocUnsafe(1 + 2 * NODE)
  let count = nodes.length / NODE
  while (count > 1) count = reduceLevel(nodes, count, scratch)
  return bytes(nodes.subarray(0, NODE))
}

/** The proof that segment `index` of `data` belongs to `merkleRoot(data)`. Throws RangeError for a bad index. */
export function merkleProof (data: Uint8Array, index: number, segmentSize = SEGMENT_SIZE): MerkleProof {
  const n = leafCount(data.length, segmentSize)
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
    throw new RangeError(`segment index ${String(index)} out of range (${n} segments)`)
  }
  const nodes = leafHashes(data, segmentSize)
  const scratch = Buffer.allocUnsafe(1 + 2 * NODE)
  const path: Uint8Array[] = []
  let count = n
  let idx = index
  while (count > 1) {
    const sibling = idx ^ 1
    if (sibling < count) path.push(bytes(nodes.subarray(sibling * NODE, (sibling + 1) * NODE)))
    count = reduceLevel(nodes, count, scratch)
    idx >>= 1
  }
  const start = index * segmentSize
  const segment = new Uint8Array(data.subarray(start, Math.min(start + segmentSize, data.length)))
  return { index, segment, path }
}

/**
 * The proofs of several segments of `data`, in the order of `indices`, from one tree: the leaves are
 * hashed once and every level is kept (about 2 x 32 bytes per segment), so answering an audit of many
 * segments costs one root's worth of hashing, not one per segment. Same proofs as `merkleProof`.
 * Throws RangeError for an index out of range.
 */
export function merkleProofs (data: Uint8Array, indices: readonly number[], segmentSize = SEGMENT_SIZE): MerkleProof[] {
  const n = leafCount(data.length, segmentSize)
  for (const index of indices) {
    if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
      throw new RangeError(`segment index ${String(index)} out of range (${n} segments)`)
    }
  }
  if (indices.length === 0) return []
  // levels[0] holds the leaf hashes; levels[h + 1] the parents of levels[h]; the last has one node.
  const levels: Buffer[] = [leafHashes(data, segmentSize)]
  const scratch = Buffer.allocUnsafe(1 + 2 * NODE)
  for (let count = n; count > 1;) {
    const below = levels[levels.length - 1]
    const pairs = count >> 1
    const above = Buffer.allocUnsafe((pairs + (count & 1)) * NODE)
    for (let j = 0; j < pairs; j++) {
      hashInto(INNER_PREFIX, below.subarray(2 * j * NODE, (2 * j + 2) * NODE), scratch, above, j * NODE)
    }
    if ((count & 1) === 1) below.copy(above, pairs * NODE, (count - 1) * NODE, count * NODE) // promoted
    levels.push(above)
    count = pairs + (count & 1)
  }
  return indices.map(index => {
    const path: Uint8Array[] = []
    let idx = index
    for (let h = 0; h < levels.length - 1; h++) {
      const sibling = idx ^ 1
      if (sibling < levels[h].length / NODE) path.push(bytes(levels[h].subarray(sibling * NODE, (sibling + 1) * NODE)))
      idx >>= 1
    }
    const start = index * segmentSize
    const segment = new Uint8Array(data.subarray(start, Math.min(start + segmentSize, data.length)))
    return { index, segment, path }
  })
}

/** Length of the longest proof path in a tree of `leafCount` leaves: ceil(log2(leafCount)) sibling hashes. */
export function maxPathLength (leafCount: number): number {
  let length = 0
  for (let count = leafCount; count > 1; count = (count >> 1) + (count & 1)) length++
  return length
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/**
 * Whether `proof` shows that its segment is leaf `proof.index` of the tree with `root` and `leafCount`
 * leaves. Never throws on a malformed proof (it comes from an untrusted holder); returns false instead.
 * Rejects: an index outside [0, leafCount), a segment of impossible length (only the last one may be
 * shorter than the segment size, and only a single-leaf tree may have an empty one), a path whose length
 * doesn't match the tree shape or whose elements aren't 32 bytes, and anything whose hashes don't lead to
 * `root`.
 */
export function verifyMerkleProof (root: Uint8Array, leafCount: number, proof: MerkleProof,
  segmentSize = SEGMENT_SIZE): boolean {
  checkSegmentSize(segmentSize)
  if (!(root instanceof Uint8Array) || root.length !== NODE) return false
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) return false
  if (proof === null || typeof proof !== 'object') return false
  const { index, segment, path } = proof
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || index >= leafCount) return false
  if (!(segment instanceof Uint8Array) || !Array.isArray(path)) return false
  const isLast = index === leafCount - 1
  if (isLast
    ? segment.length > segmentSize || (segment.length === 0 && leafCount !== 1)
    : segment.length !== segmentSize) return false

  const node = Buffer.allocUnsafe(NODE)
  hashInto(LEAF_PREFIX, segment, Buffer.allocUnsafe(1 + segment.length), node, 0)
  const scratch = Buffer.allocUnsafe(1 + 2 * NODE)
  const pair = Buffer.allocUnsafe(2 * NODE)
  let count = leafCount
  let idx = index
  let used = 0
  while (count > 1) {
    const sibling = idx ^ 1
    if (sibling < count) {
      if (used >= path.length) return false
      const s = path[used++]
      if (!(s instanceof Uint8Array) || s.length !== NODE) return false
      if ((idx & 1) === 0) { node.copy(pair, 0); pair.set(s, NODE) } else { pair.set(s, 0); node.copy(pair, NODE) }
      hashInto(INNER_PREFIX, pair, scratch, node, 0)
    }
    count = (count >> 1) + (count & 1)
    idx >>= 1
  }
  return used === path.length && equalBytes(node, root)
}
