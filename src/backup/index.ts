/**
 * Backup sessions: scan the selected paths, detect changes against the previous snapshot, chunk,
 * deduplicate, seal, pack and store, then commit trees, index and snapshot in that order.
 */
export * from './scanner.js'
export * from './packer.js'
export * from './backup.js'
export * from './command-source.js'
