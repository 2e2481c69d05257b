/**
 * The owner's side of the shard protocol: PeerShardStore, a ShardStore whose objects live on one remote
 * peer, reached through a libp2p node over /holdfast/shard/1.0.0.
 */
export * from './peer-shard-store.js'
