/**
 * When the daemon's backups run: cron expressions (pure), and the backup scheduler that runs the
 * configured sets on their schedules and in watch mode.
 */
export * from './cron.js'
export * from './backup-scheduler.js'
