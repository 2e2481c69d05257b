/**
 * The fleet: an office's nodes that granted one node the admin role, seen and driven from that node's
 * dashboard (status, session reports, starting a backup, an audit or a repair), never their data or keys.
 */
export * from './fleet-messages.js'
export * from './fleet-service.js'
export * from './fleet-status.js'
