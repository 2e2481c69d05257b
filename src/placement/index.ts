/**
 * Placement: which store (later, which peer) keeps each shard of a pack. A pure module: no I/O.
 */
export * from './rendezvous.js'
