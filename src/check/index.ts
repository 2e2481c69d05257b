/** Repository checks: structure, shard presence, and with --read-data every byte verified. */
export * from './check.js'
