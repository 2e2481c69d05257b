/**
 * The stored formats, pure: the types of every stored object (format.ts), sealed blobs (blob.ts), the
 * pack layout (pack.ts) and sealed records (records.ts). Imports only crypto and compression; the
 * repository, the workers and the pipelines build on it.
 */
export * from './format.js'
export * from './blob.js'
export * from './pack.js'
export * from './records.js'
