import Type, { type Static, type TSchema } from 'typebox'
import Value from 'typebox/value'
import { ProtocolError } from '../errors.js'

/**
 * What a node shows the admins it granted the role (the fleet protocol's status and session reports, the
 * REST API's /fleet): its protection status, packs, peers, space, warnings, sets and the backups, audits
 * and repairs under way or just ended. Bounded in every list and string; an answer that does not fit is
 * refused, a field more is dropped.
 */
const Str = (max: number, more: Record<string, unknown> = {}): ReturnType<typeof Type.String> => Type.String({ maxLength: max, ...more })
const Count = Type.Integer({ minimum: 0 })
const Time = Type.Union([Str(40), Type.Null()])

export const FleetJob = Type.Object({
  id: Str(64),
  action: Type.Union([Type.Literal('backup'), Type.Literal('audit'), Type.Literal('repair')]),
  set: Type.Union([Str(64), Type.Null()]),
  started: Str(40),
  ended: Time,
  status: Type.Union([Type.Literal('running'), Type.Literal('ok'), Type.Literal('partial'), Type.Literal('failed')]),
  detail: Type.Union([Str(1000), Type.Null()], { description: 'what ended it, or its outcome in one line' })
}, { $id: 'FleetJob' })
export type FleetJob = Static<typeof FleetJob>

export const FleetStatus = Type.Object({
  name: Str(64),
  site: Str(64),
  level: Type.Union([Type.Literal('ok'), Type.Literal('warning'), Type.Literal('danger')]),
  summary: Str(500),
  lastBackup: Time,
  packs: Type.Union([Type.Object({ total: Count, full: Count, degraded: Count, critical: Count, n: Count }), Type.Null()]),
  peers: Type.Object({ trusted: Count, online: Count }),
  space: Type.Object({ storedOnOthers: Count, givenToOthers: Count, grantedByOthers: Count, grantedToOthers: Count }),
  warnings: Type.Array(Type.Object({ message: Str(500), action: Str(500) }), { maxItems: 50 }),
  sets: Type.Array(Type.Object({ name: Str(64), lastSuccess: Time, lastStatus: Type.Union([Str(20), Type.Null()]) }), { maxItems: 50 }),
  jobs: Type.Array(FleetJob, { maxItems: 20, description: 'backups, audits and repairs that admins started, newest first' })
}, { $id: 'FleetStatus' })
export type FleetStatus = Static<typeof FleetStatus>

export const FleetSession = Type.Object({
  id: Str(64),
  kind: Str(20),
  set: Type.Union([Str(64), Type.Null()]),
  status: Str(20),
  started: Str(40),
  ended: Time,
  reason: Type.Union([Str(1000), Type.Null()]),
  filesTotal: Type.Union([Count, Type.Null()]),
  bytesAdded: Type.Union([Count, Type.Null()])
}, { $id: 'FleetSession' })
export type FleetSession = Static<typeof FleetSession>

export const FleetMember = Type.Object({
  peerId: Str(80),
  name: Str(64),
  site: Str(64),
  online: Type.Boolean({ description: 'answered just now; false: the status is the last one seen' }),
  seen: Time,
  status: Type.Union([FleetStatus, Type.Null()])
}, { $id: 'FleetMember' })
export type FleetMember = Static<typeof FleetMember>

/** A status or a list of reports from a node's JSON text: checked against its schema, extra fields dropped. */
export function parseFleetJson<T> (schema: TSchema, json: string, what: string): T {
  let value: unknown
  try { value = JSON.parse(json) } catch { throw new ProtocolError(`fleet protocol: the ${what} is not JSON`) }
  const clean = Value.Clean(schema, structuredClone(value))
  if (!Value.Check(schema, clean)) throw new ProtocolError(`fleet protocol: the ${what} does not have the documented shape`)
  return clean as T
}
