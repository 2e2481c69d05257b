/**
 * When the daemon's backups run: cron expressions, missed runs and retry plans (pure), the state kept
 * across restarts, and the backup scheduler that runs the configured sets on their schedules (catching
 * up on runs missed, retrying runs that found too few stores) and in watch mode.
 */
export * from './cron.js'
export * from './missed-runs.js'
export * from './retry-plan.js'
export * from './schedule-state.js'
export * from './backup-scheduler.js'
