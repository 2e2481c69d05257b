/**
 * The standby copy: a folder kept equal to the latest snapshot of a selection, by applying only what
 * changed since the snapshot it holds (see standby.ts).
 */
export * from './standby.js'
