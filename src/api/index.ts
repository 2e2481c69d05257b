/**
 * The daemon's local control API: HTTP on a Unix domain socket in the home (HOME/api.sock, 0600), with a
 * bearer token kept in the home too. The CLI does everything through it while the daemon runs.
 */
export * from './api-server.js'
export * from './api-client.js'
export * from './daemon-info.js'
