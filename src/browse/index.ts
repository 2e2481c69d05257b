/**
 * Browsing snapshots without restoring them: a directory's entries, a file's bytes (any k good shards,
 * each blob verified before a byte of it leaves), a folder as a streamed zip, names found across
 * snapshots, a file's versions. Read-only: nothing here writes to the repository or the disk.
 */
export * from './name-match.js'
export * from './snapshot-path.js'
export * from './file-bytes.js'
export * from './zip-folder.js'
export * from './search.js'
export * from './versions.js'
export * from './stream-of.js'
