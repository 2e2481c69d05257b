/**
 * Seed loading for slow uplinks: the shards meant for one host written to a disk by their owner
 * (signed manifest), and taken in by the host, verified.
 */
export * from './seed-manifest.js'
export * from './seed-export.js'
export * from './seed-import.js'
