/**
 * Bandwidth: token buckets and time-of-day windows (pure), the shared rate limiter, and the store
 * decorator that applies them and the parallel-transfer cap to every shard transfer.
 */
export * from './token-bucket.js'
export * from './time-windows.js'
export * from './rate-limiter.js'
export * from './limited-store.js'
