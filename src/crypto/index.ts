/**
 * Cryptography: passphrase key derivation, the repository's key hierarchy, authenticated encryption and
 * keyed blob ids. Imports nothing else of the project but its errors.
 */
export * from './aead.js'
export * from './kdf.js'
export * from './keys.js'
export * from './node-record-key.js'
export * from './kit-escrow.js'
