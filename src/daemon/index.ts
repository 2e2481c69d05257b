/**
 * The Holdfast daemon: one process that is a libp2p node (owner and host at once), serves the shard
 * protocol from its host store, pairs, keeps trusted peers connected, and answers the local control API
 * through which the CLI works while it runs.
 */
export * from './daemon.js'
export * from './daemon-log.js'
export * from './log-lines.js'
