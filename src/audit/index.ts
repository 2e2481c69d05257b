/**
 * Proof-of-storage audits: checking that a peer still holds the shards it was given, without fetching
 * them whole. For now this folder holds the Merkle trees over fixed-size shard segments that the
 * repository keeps per shard (root and leaf count); challenge/response logic will live here too.
 */
export { SEGMENT_SIZE, leafCount, merkleRoot, merkleProof, verifyMerkleProof } from './merkle.js'
export type { MerkleProof } from './merkle.js'
export { fastMerkleRoot, merkleBackend, nativeMerkle, trimMemory } from './fast-merkle-root.js'
