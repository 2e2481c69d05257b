import { ProtocolError } from '../errors.js'

/**
 * The messages of /holdfast/fleet/1.0.0, each a length-prefixed CBOR map of at most MAX_FLEET_MESSAGE
 * bytes; one request and one answer per stream, from an admin to a node that granted it the role:
 *
 *   {t:'status'}                             -> {t:'status', json}    (the node's FleetStatus as JSON text)
 *   {t:'sessions', limit}                    -> {t:'sessions', json}  (its latest session reports, newest first)
 *   {t:'run', action, set?}                  -> {t:'run', id}         (a backup of a set, an audit or a repair started)
 *   any answer may be {t:'error', code, message}; code 'not-admin' when the asker holds no admin role there
 *
 * The status and the reports travel as JSON text (the shapes the REST API documents) and are parsed and
 * bounded on arrival; anything else is a ProtocolError.
 */
export const FLEET_PROTOCOL = '/holdfast/fleet/1.0.0'
export const MAX_FLEET_MESSAGE = 512 * 1024
export const MAX_FLEET_SESSIONS = 50
export const FLEET_ACTIONS = ['backup', 'audit', 'repair'] as const
export type FleetAction = typeof FLEET_ACTIONS[number]

export type FleetRequest = { t: 'status' } | { t: 'sessions', limit: number } | { t: 'run', action: FleetAction, set?: string }
export type FleetAnswer = { t: 'status', json: string } | { t: 'sessions', json: string } | { t: 'run', id: string } | { t: 'error', code: string, message: string }

function fail (what: string): never { throw new ProtocolError(`fleet protocol: ${what}`) }

function fields (v: unknown, required: string[], optional: string[] = []): Record<string, unknown> {
  if (typeof v !== 'object' || v == null || Array.isArray(v) || v instanceof Uint8Array) fail('expected a map')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) fail(`unexpected field ${JSON.stringify(k.slice(0, 32))}`)
  for (const k of required) if (!(k in o)) fail(`missing field ${k}`)
  return o
}

const text = (v: unknown, max: number, what: string): string => typeof v === 'string' && v.length <= max ? v : fail(`${what}: expected text of at most ${max} characters`)

export function parseFleetRequest (v: unknown): FleetRequest {
  const t = (v as { t?: unknown })?.t
  if (t === 'status') { fields(v, ['t']); return { t } }
  if (t === 'sessions') {
    const o = fields(v, ['t', 'limit'])
    if (!Number.isInteger(o.limit) || (o.limit as number) < 1 || (o.limit as number) > MAX_FLEET_SESSIONS) fail(`limit: 1 to ${MAX_FLEET_SESSIONS}`)
    return { t, limit: o.limit as number }
  }
  if (t === 'run') {
    const o = fields(v, ['t', 'action'], ['set'])
    if (!FLEET_ACTIONS.includes(o.action as FleetAction)) fail('action: backup, audit or repair')
    return { t, action: o.action as FleetAction, ...(o.set != null ? { set: text(o.set, 64, 'set') } : {}) }
  }
  return fail('unknown request')
}

export function parseFleetAnswer (v: unknown): FleetAnswer {
  const t = (v as { t?: unknown })?.t
  if (t === 'status' || t === 'sessions') { const o = fields(v, ['t', 'json']); return { t, json: text(o.json, MAX_FLEET_MESSAGE, 'json') } }
  if (t === 'run') { const o = fields(v, ['t', 'id']); return { t, id: text(o.id, 64, 'id') } }
  if (t === 'error') { const o = fields(v, ['t', 'code', 'message']); return { t, code: text(o.code, 64, 'code'), message: text(o.message, 1024, 'message') } }
  return fail('unknown answer')
}
