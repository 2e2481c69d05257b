/**
 * The shard protocol, /holdfast/shard/1.0.0, as a message layer: its constants, the messages and their
 * validators, length-prefixed CBOR framing, error codes on the wire, and backpressured reading and writing
 * on a libp2p stream. It knows nothing of disks, quotas or which peer is asking (src/host and src/peer do).
 */
export * from './constants.js'
export * from './frame.js'
export * from './messages.js'
export * from './wire-error.js'
export * from './stream-reader.js'
export * from './stream-writer.js'
