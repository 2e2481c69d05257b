/**
 * Recovery from the passphrase alone: the recovery kit (sealed identity, repository id, a few peers),
 * and a new home written from it whose key file and register come back from the peers.
 */
export * from './recovery-kit.js'
export * from './recover.js'
export * from './kit-reader.js'
export * from './kit-escrow-service.js'
export * from './kit-escrow-fetch.js'
