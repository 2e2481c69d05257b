/**
 * Proof-of-storage audits: checking that peers still hold the shards they were given, without fetching
 * them whole, and judging peers and packs by it. Pure: no disk, no network.
 * - merkle.ts: Merkle trees over fixed-size shard segments (the repository keeps each shard's root);
 * - challenge.ts: random segment challenges, the host's answer, the owner's verdict;
 * - detection.ts: how many segments a challenge needs to catch a given loss;
 * - reputation.ts: a peer's audit pass rate, availability, standing and placement score;
 * - health.ts: which shards of a pack are good, which to audit, which to regenerate.
 */
export { SEGMENT_SIZE, leafCount, maxPathLength, merkleRoot, merkleProof, merkleProofs, verifyMerkleProof } from './merkle.js'
export type { MerkleProof } from './merkle.js'
export { fastMerkleRoot, merkleBackend, nativeMerkle, nativeMerkleLoadError, trimMemory } from './fast-merkle-root.js'
export {
  MAX_CHALLENGE_SEGMENTS, NONCE_SIZE, answerChallenge, challengeIndices, createChallenge, proofPayloadBytes, verifyAnswer
} from './challenge.js'
export type { AnswerVerdict, Challenge, ChallengeAnswer, ChallengeInit, ExpectedShard } from './challenge.js'
export { detectionProbability, lostSegments, segmentsNeeded } from './detection.js'
export {
  CLEAR_PASSES, CLEAR_PASS_RATE, DEFAULT_HALF_LIFE_MS, PENALTY_STRIKES, PRIOR_ONLINE_MS, PRIOR_PASSES,
  RECOVERY_PASSES, WARNED_SCORE_FACTOR, WARNING_NOTICE_MS, availability, newReputation, parseReputation, passRate,
  score, updateReputation
} from './reputation.js'
export type { Reputation, ReputationEvent, ReputationOptions, ReputationState } from './reputation.js'
export { autoRepairThreshold, packHealth } from './health.js'
export type { HealthPolicy, PackHealth, HostPresence, RegenerateCause, ShardRecord } from './health.js'
