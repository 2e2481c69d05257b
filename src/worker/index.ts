/**
 * Worker threads for CPU-bound work (sealing blobs, hashing shards), so that a backup uses every core
 * while the main thread walks, reads and chunks.
 */
export * from './pool.js'
