/**
 * The host side: keeping other peers' objects. HostStore holds them on disk per owner with quotas, usage
 * and the reciprocity ledger in a LevelDB index; ShardService serves /holdfast/shard/1.0.0 from it.
 */
export * from './host-store.js'
export * from './reciprocity-ledger.js'
export * from './shard-service.js'
export * from './scrubber.js'
