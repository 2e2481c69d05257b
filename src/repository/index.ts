/**
 * The repository: its stored formats (blobs, packs, records, index), the key and parameters, and the
 * local register that caches what the stores hold.
 */
export * from './format.js'
export * from './blob.js'
export * from './pack.js'
export * from './records.js'
export * from './register.js'
export * from './repository.js'
