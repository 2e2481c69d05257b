/**
 * The node configuration: its defaults (mirrored in config/default.json), the pure validation that
 * merges a home's node.json over them, and the loader. Knows nothing of libp2p itself.
 */
export * from './node-config.js'
export * from './parse-node-config.js'
export * from './load-node-config.js'
export * from './write-node-config.js'
