import { UsageError } from '../errors.js'

/**
 * One route of the REST API as the daemon serves it: method, path (OpenAPI form, below /api/v1), how its
 * query is read, and its handler. What the OpenAPI document says of each route (summary, schemas) is in
 * api-spec.ts, which only the build and the tests load (TypeBox costs an idle daemon memory); a test
 * keeps the two lists equal and checks live answers against the schemas.
 */
export interface ApiRoute {
  method: 'get' | 'post' | 'put' | 'delete'
  path: string
  /** Reads and checks the query (UsageError when it is wrong). */
  query?: (raw: Record<string, string>) => Record<string, unknown>
  /**
   * Answers the call: a value sent as JSON, or a whole `Response` sent as it is (a download, a stream of
   * server-sent events).
   */
  handler: (input: ApiInput) => Promise<unknown>
}

export interface ApiInput {
  query: Record<string, unknown>
  /** The JSON body of a call that is not a GET (undefined for a GET). */
  body: unknown
  params: Record<string, string>
  /** Aborted when the client goes away. */
  signal: AbortSignal
}

/**
 * A part of the web face outside the REST API (the WebDAV view at /dav/): every request under `prefix`
 * goes to `handler` as a fetch Request. `safeMethods` are the methods that change nothing (they pass
 * where a GET passes).
 */
export interface WebMount {
  prefix: string
  safeMethods: string[]
  handler: (req: Request) => Promise<Response>
}

export const API_BASE = '/api/v1'

/** hono's form of an OpenAPI path: `/snapshots/{id}` -> `/snapshots/:id` */
export function honoPath (path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1')
}

/** A query parameter that must be an integer within bounds, when given. */
export function intParam (raw: Record<string, string>, name: string, min: number, max: number): number | undefined {
  const v = raw[name]
  if (v == null || v === '') return undefined
  const n = Number(v)
  if (!/^-?\d+$/.test(v) || n < min || n > max) throw new UsageError(`query ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v.slice(0, 40))}`)
  return n
}

/** A query parameter that is text of at most `max` characters, when given. */
export function textParam (raw: Record<string, string>, name: string, max: number): string | undefined {
  const v = raw[name]
  if (v == null || v === '') return undefined
  if (v.length > max) throw new UsageError(`query ${name} is longer than ${max} characters`)
  return v
}

/** The HTTP status an error answers with. */
export function httpStatusOf (err: unknown): 400 | 401 | 403 | 404 | 409 | 423 | 429 | 500 | 507 {
  const name = (err as Error | undefined)?.name ?? ''
  switch (name) {
    case 'UsageError': case 'ConfigError': case 'SourceNotFoundError': case 'PairingError': return 400
    case 'UnauthorizedError': return 401
    case 'WrongPassphraseError': case 'ForbiddenError': case 'PermissionDeniedError': return 403
    case 'NotFoundError': case 'NoSuchSnapshotError': case 'UnknownPeerError': return 404
    case 'LockedError': case 'BusyError': return 409
    case 'PassphraseNeededError': return 423
    case 'TooManyRequestsError': return 429
    case 'QuotaExceededError': return 507
    default: return 500
  }
}
