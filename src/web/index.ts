/**
 * The daemon's web face: the dashboard (ui/, a Preact app built into dist/web), the REST API (/api/v1,
 * with its OpenAPI document) and the Prometheus metrics,
 * served over HTTP by hono on 127.0.0.1.
 */
export * from './api-schemas.js'
export * from './api-routes.js'
export * from './daemon-routes.js'
export * from './metrics.js'
export * from './overview.js'
export * from './web-server.js'
