import Type, { type TSchema } from 'typebox'
import { AccessState, BackupSet, ErrorBody, LogEntry, LogQuery, Overview, Peer, Session, SessionsQuery, Status, UnlockBody } from './api-schemas.js'
import { API_BASE } from './api-routes.js'
import { SNAPSHOT_SPEC } from './snapshot-spec.js'
import { AUTH_SPEC } from './auth-spec.js'
import { BACKUP_SPEC } from './backup-spec.js'
import { SETTINGS_SPEC } from './settings-spec.js'
import { PEER_ACTION_SPEC } from './peer-action-spec.js'
import { FLEET_SPEC } from './fleet-spec.js'
import { KEY_SPEC } from './key-spec.js'

/** What the OpenAPI document says of one route. */
export interface ApiOperation {
  method: 'get' | 'post' | 'put' | 'delete'
  path: string
  summary: string
  tag: string
  query?: TSchema
  body?: TSchema
  /** The 200 answer's schema (of its JSON, or of the `produces` content). */
  response: TSchema
  /** The 200 answer's content type when it is not JSON (a download: application/octet-stream; events: text/event-stream). */
  produces?: string
}

/** The node's state: status, peers, sessions, sets, overview, and the passphrase the daemon holds. */
export const CORE_SPEC: ApiOperation[] = [
  { method: 'get', path: '/status', tag: 'node', summary: 'This node: identity, addresses, peers', response: Status },
  { method: 'get', path: '/peers', tag: 'peers', summary: 'Every peer this node paired with (revoked ones too), how it is reached and the room each side keeps and grants', response: Type.Array(Peer) },
  { method: 'get', path: '/sessions', tag: 'sessions', summary: 'Backup session reports, newest first', query: SessionsQuery, response: Type.Array(Session) },
  { method: 'get', path: '/log', tag: 'sessions', summary: 'The daemon\'s recent log (the newest 500 lines kept), newest first', query: LogQuery, response: Type.Array(LogEntry) },
  { method: 'get', path: '/sets', tag: 'backup', summary: 'The backup sets, their schedules, next runs and last sessions', response: Type.Array(BackupSet) },
  { method: 'get', path: '/overview', tag: 'overview', summary: 'Is my data safe? The protection status in one sentence and a colour, pack health, warnings with their fixes, space used and given', response: Overview },
  { method: 'get', path: '/access', tag: 'access', summary: 'Whether the daemon holds the repository\'s passphrase (browsing, restores and "Back up now" need it)', response: AccessState },
  { method: 'post', path: '/unlock', tag: 'access', summary: 'Gives the daemon the passphrase, checked against the key file and kept a while (WrongPassphraseError: 403)', body: UnlockBody, response: AccessState },
  { method: 'post', path: '/lock', tag: 'access', summary: 'Makes the daemon forget a passphrase given through /unlock', response: AccessState }
]

/** Every route of the REST API, as documented (the routes are in web-routes.ts; a test keeps them equal). */
export const API_SPEC: ApiOperation[] = [
  ...CORE_SPEC,
  ...SNAPSHOT_SPEC,
  ...AUTH_SPEC,
  ...BACKUP_SPEC,
  ...SETTINGS_SPEC,
  ...PEER_ACTION_SPEC,
  ...FLEET_SPEC,
  ...KEY_SPEC
]

/** The OpenAPI 3.1 document of the routes (built into dist/web/openapi.json, served at /api/v1/openapi.json). */
export function openApiDocument (routes: ApiOperation[], version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = {}
  // schemas with an $id become components, referenced where they are used
  const ref = (schema: TSchema): unknown => {
    const walk = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(n => walk(n))
      if (node == null || typeof node !== 'object') return node
      const o = node as Record<string, unknown>
      if (typeof o.$id === 'string') {
        const id = o.$id
        const { $id: _, ...rest } = o
        if (schemas[id] == null) schemas[id] = walkProps(rest)
        return { $ref: `#/components/schemas/${id}` }
      }
      return walkProps(o)
    }
    const walkProps = (o: Record<string, unknown>): Record<string, unknown> => {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(o)) out[k] = walk(v)
      return out
    }
    return walk(JSON.parse(JSON.stringify(schema)))
  }
  ref(ErrorBody)
  const errorResponse = { description: 'an error: { error: { name, message, exitCode } }', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
  const paths: Record<string, Record<string, unknown>> = {}
  for (const r of routes) {
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: [r.tag],
      operationId: `${r.method}${r.path.replace(/[{}]/g, '').split('/').filter(Boolean).map(p => p[0].toUpperCase() + p.slice(1)).join('')}`,
      responses: {
        200: { description: 'OK', content: { [r.produces ?? 'application/json']: { schema: ref(r.response) } } },
        400: errorResponse,
        401: errorResponse,
        500: errorResponse
      }
    }
    const parameters: unknown[] = []
    for (const name of [...r.path.matchAll(/\{(\w+)\}/g)].map(m => m[1])) parameters.push({ name, in: 'path', required: true, schema: { type: 'string' } })
    if (r.query != null) {
      const q = r.query as unknown as { properties: Record<string, TSchema>, required?: string[] }
      for (const [name, schema] of Object.entries(q.properties)) parameters.push({ name, in: 'query', required: q.required?.includes(name) === true, schema: ref(schema) })
    }
    if (parameters.length > 0) op.parameters = parameters
    if (r.body != null) op.requestBody = { required: true, content: { 'application/json': { schema: ref(r.body) } } }
    paths[`${API_BASE}${r.path}`] = { ...paths[`${API_BASE}${r.path}`], [r.method]: op }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Holdfast daemon API', version, description: 'The REST API the dashboard and scripts use. Answers are JSON; errors are { error: { name, message, exitCode } }.' },
    servers: [{ url: '/' }],
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'the API key (HOME/api.token)' },
        session: { type: 'apiKey', in: 'cookie', name: 'holdfast_session', description: 'a browser session (POST /api/v1/login with the GUI password); changes also carry its CSRF token in x-csrf-token' }
      }
    },
    security: [{ apiKey: [] }, { session: [] }, {}],
    paths
  }
}
