/**
 * Questions about snapshots that read the repository and write nothing: what changed between two
 * snapshots (diff), and how much each snapshot and the repository hold (stats). Finding names across
 * snapshots is in src/browse/search.ts, shared with the dashboard.
 */
export * from './diff-snapshots.js'
export * from './repository-stats.js'
