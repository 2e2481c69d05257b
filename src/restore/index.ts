/**
 * Restore: plan what a snapshot (or a path in it) holds, fetch each pack once from any k good shards,
 * verify every blob, and write files through temporary names.
 */
export * from './plan.js'
export * from './restore.js'
export * from './restore-target.js'
export * from './verify.js'
