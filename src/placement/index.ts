/**
 * Placement: this folder's one job is choosing where each shard of a pack goes. `placePack` picks k+m
 * distinct peers (online, with room, not disqualified), no more than m of them at one site when the
 * sites allow it, each with exactly its fair share of free quota x reputation as its chance
 * (`fairShares`, systematic sampling from the pack id); `placeShards` ranks directory stores with
 * rendezvous hashing. A pure module: no I/O.
 */
export * from './rendezvous.js'
export { placePack, placePacks } from './place-pack.js'
export type { Placement, PlacementCandidate, PlacementInput, PlacementPolicy, PackToPlace } from './place-pack.js'
export { siteLimitFor } from './site-limit.js'
export { fairShares, systematicSample, type SharePeer } from './fair-shares.js'
