import { UsageError } from '../errors.js'

/**
 * One route of the REST API as the daemon serves it: method, path (OpenAPI form, below /api/v1), how its
 * query is read, and its handler. What the OpenAPI document says of each route (summary, schemas) is in
 * api-spec.ts, which only the build and the tests load (TypeBox costs an idle daemon memory); a test
 * keeps the two lists equal and checks live answers against the schemas.
 */
export interface ApiRoute {
  method: 'get' | 'post'
  path: string
  /** Reads and checks the query (UsageError when it is wrong). */
  query?: (raw: Record<string, string>) => Record<string, unknown>
  handler: (input: { query: Record<string, unknown>, body: unknown, params: Record<string, string>, signal: AbortSignal }) => Promise<unknown>
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
