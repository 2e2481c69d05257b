/**
 * The daemon's local control API: HTTP on 127.0.0.1 with a bearer token kept in the home (mode 0600).
 * The CLI does everything through it while the daemon runs; a dashboard will use the same routes.
 */
export * from './api-server.js'
export * from './api-client.js'
export * from './daemon-info.js'
