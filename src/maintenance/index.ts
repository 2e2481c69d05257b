/**
 * Keeping data alive, from the owner's side: audit rounds that challenge every shard where it was placed
 * (the pure challenge and verification logic is in src/audit), pack health from their outcomes, repair.
 */
export * from './audit-round.js'
export * from './repository-health.js'
export * from './repair.js'
export * from './packs-now.js'
