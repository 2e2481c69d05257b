/**
 * The daemon's web face: the dashboard (ui/, a Preact app built into dist/web), the REST API (/api/v1,
 * documented by api-spec.ts) and the Prometheus metrics, served over HTTP by hono on 127.0.0.1, loaded
 * at the first request; beyond loopback over HTTPS behind the GUI password (gui-security.ts; the doors
 * themselves are web-auth.ts, loaded with the routes).
 */
export type * from './api-schemas.js'
export * from './api-routes.js'
export * from './daemon-routes.js'
export * from './web-routes.js'
export * from './access-routes.js'
export * from './settings-routes.js'
export * from './peer-routes.js'
export type * from './settings-schemas.js'
export * from './metrics.js'
export * from './overview.js'
export * from './prometheus-text.js'
export * from './web-server.js'
export * from './gui-security.js'
export type * from './backup-schemas.js'
export * from './backup-routes.js'
