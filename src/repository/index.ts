/**
 * The repository: its stored formats (blobs, packs, records, index), the key and parameters, and the
 * local register that caches what the stores hold.
 */
export * from '../format/format.js'
export * from '../format/blob.js'
export * from '../format/pack.js'
export * from '../format/records.js'
export * from './register.js'
export * from './repository.js'
