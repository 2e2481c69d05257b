/**
 * The owner's side of the shard protocol: PeerShardStore, a ShardStore whose objects live on one remote
 * peer, reached through a libp2p node over /holdfast/shard/1.0.0; and the dialer that finds a peer again
 * (presence, the DHT) when its known addresses fail.
 */
export * from './peer-shard-store.js'
export * from './reaching-dialer.js'
