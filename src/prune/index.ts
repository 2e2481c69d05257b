/**
 * Removing what is no longer wanted: forgetting snapshots (and pinning some with `archived`), and prune,
 * which deletes the packs and shards no snapshot needs on every store. The rules that choose which
 * snapshots go live in src/retention/ (pure).
 */
export * from './used-blobs.js'
export * from './forget.js'
export * from './prune.js'
export * from './forget-by-policy.js'
