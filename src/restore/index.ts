/**
 * Restore: walk what a snapshot (or a path in it) holds a window of files at a time, fetch the packs they
 * need from any k good shards, verify every blob, and write files through temporary names.
 */
export * from './snapshot-path.js'
export * from './snapshot-walk.js'
export * from './restore.js'
export * from './restore-target.js'
export * from './verify.js'
