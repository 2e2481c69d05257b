/**
 * Backup sessions as the user meets them: one run of a backup (manual, scheduled or from watch mode),
 * with its hooks, its report kept in the session log, and its notifications.
 */
export * from './session-report.js'
export * from './session-log.js'
export * from './run-hook.js'
export * from './notify.js'
export * from './send-mail.js'
export * from './run-session.js'
export * from './restore-report.js'
export * from './run-progress.js'
export * from './healthcheck-ping.js'
export * from './test-notification.js'
