/** The shard protocol's identifier; a change to the wire format gets a new version. */
export const SHARD_PROTOCOL = '/holdfast/shard/1.0.0'

/** Largest control frame (a CBOR message after its varint length) either side accepts. */
export const MAX_CONTROL_FRAME = 64 * 1024

/** Largest object a put may announce or a get may return. */
export const MAX_OBJECT_SIZE = 64 * 1024 * 1024

/** Object bytes are sent in pieces of at most this size, each waiting for the stream to drain. */
export const DATA_CHUNK_SIZE = 256 * 1024

/** Names per list frame: 512 names of 64 hex digits fit well inside MAX_CONTROL_FRAME. */
export const LIST_BATCH_SIZE = 512

/** Longest error message carried on the wire; longer ones are cut. */
export const MAX_ERROR_MESSAGE = 512

/**
 * A reader holds at most this many unread bytes before it pauses the stream, and resumes below half of it.
 */
export const READ_HIGH_WATER = 1024 * 1024

/**
 * While a reader is paused, the remote may still send what its yamux window allows (up to 16 MiB by default);
 * libp2p resets a paused stream whose buffer passes `maxReadBufferLength` (4 MiB by default), so protocol
 * streams raise it to this.
 */
export const STREAM_READ_BUFFER_LIMIT = 16 * 1024 * 1024 + 2 * READ_HIGH_WATER

/** Segments one prove request may ask for (an audit asks a few per shard). */
export const MAX_PROVE_SEGMENTS = 16

/** Segment sizes a prove request may name (the repository's is 1 KiB). */
export const MIN_PROVE_SEGMENT_SIZE = 256
export const MAX_PROVE_SEGMENT_SIZE = 4096

/** Sibling hashes in one Merkle path: enough for MAX_OBJECT_SIZE at the smallest segment size. */
export const MAX_PROOF_PATH = 32

/** Largest prove reply: MAX_PROVE_SEGMENTS segments of the largest size with full paths, and framing. */
export const MAX_PROOF_FRAME = MAX_PROVE_SEGMENTS * (MAX_PROVE_SEGMENT_SIZE + MAX_PROOF_PATH * 34 + 64) + 256
