/**
 * Shard stores: the one interface through which the engine reaches every place that keeps bytes
 * (directories now, peers later), with a directory and an in-memory implementation.
 */
export * from './shard-store.js'
export * from './hash-name.js'
export * from './directory-store.js'
export * from './memory-store.js'
export * from './open-store.js'
export * from './read-only-store.js'
