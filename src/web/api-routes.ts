import type { TSchema } from 'typebox'
import { ErrorBody } from './api-schemas.js'

/**
 * One route of the REST API: what the OpenAPI document says of it and what serves it. The web server
 * registers each with hono and describes each in the document, so the two cannot disagree.
 */
export interface ApiRoute {
  method: 'get' | 'post'
  /** OpenAPI form, below /api/v1: `/peers`, `/snapshots/{id}` */
  path: string
  summary: string
  tag: string
  query?: TSchema
  body?: TSchema
  /** The 200 answer's schema. */
  response: TSchema
  handler: (input: { query: Record<string, unknown>, body: unknown, params: Record<string, string>, signal: AbortSignal }) => Promise<unknown>
}

export const API_BASE = '/api/v1'

/** hono's form of an OpenAPI path: `/snapshots/{id}` -> `/snapshots/:id` */
export function honoPath (path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1')
}

/** The OpenAPI 3.1 document of the routes (served at /api/v1/openapi.json). */
export function openApiDocument (routes: ApiRoute[], version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = {}
  // schemas with an $id become components, referenced where they are used
  const ref = (schema: TSchema): unknown => {
    const copy = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
    const walk = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(n => walk(n))
      if (node == null || typeof node !== 'object') return node
      const o = node as Record<string, unknown>
      if (typeof o.$id === 'string') {
        const id = o.$id
        const { $id: _, ...rest } = o
        if (schemas[id] == null) schemas[id] = {} // placeholder against cycles
        schemas[id] = walkProps(rest)
        return { $ref: `#/components/schemas/${id}` }
      }
      return walkProps(o)
    }
    const walkProps = (o: Record<string, unknown>): Record<string, unknown> => {
      const out: Record<string, unknown> = {}
      for (const [k, v] of Object.entries(o)) out[k] = walk(v)
      return out
    }
    return walk(copy)
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
        200: { description: 'OK', content: { 'application/json': { schema: ref(r.response) } } },
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
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'the API key (HOME/api.token)' } }
    },
    security: [{ apiKey: [] }, {}],
    paths
  }
}
