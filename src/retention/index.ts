/**
 * Retention rules (pure): which snapshots a policy keeps. `forget` and the daemon's scheduled sessions
 * apply them; src/prune/ then frees what the removed snapshots alone used.
 */
export * from './policy.js'
