/**
 * Stores that misbehave on purpose, for tests and scripts only (the library never imports them): a
 * decorator around any ShardStore that fails, hangs, corrupts reads, loses writes, answers with another
 * object, lists garbage or without end, goes offline and comes back, or loses everything.
 */
export * from './fault-store.js'
