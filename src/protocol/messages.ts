import { OBJECT_KINDS, ObjectKind } from '../store/shard-store.js'
import { isObjectName } from '../store/hash-name.js'
import { ProtocolError } from '../errors.js'
import { LIST_BATCH_SIZE, MAX_ERROR_MESSAGE, MAX_OBJECT_SIZE, MAX_PROOF_PATH, MAX_PROVE_SEGMENT_SIZE, MAX_PROVE_SEGMENTS, MIN_PROVE_SEGMENT_SIZE } from './constants.js'

/**
 * The messages of /holdfast/shard/1.0.0 and one validator per message. One request per stream:
 *
 *   put     C: {op:'put', kind, name, size}  H: PutReady  [C: exactly `size` raw bytes, end]  H: PutDone
 *   get     C: {op:'get', kind, name, offset?, length?}, end   H: GetHeader, then exactly `size` raw bytes
 *   has     C: {op:'has', kind, name}, end                     H: HasReply
 *   list    C: {op:'list', kind}, end                          H: ListBatch ... (the last with done: true)
 *   delete  C: {op:'delete', kind, name}, end                  H: DeleteReply
 *   usage   C: {op:'usage'}, end                               H: UsageReply
 *   damaged C: {op:'damaged'}, end                             H: DamagedBatch ... (the last with done: true)
 *           (what the host's scrub found corrupt among the asker's objects and removed)
 *   quarantine C: {op:'quarantine', kind, name, graceSeconds}, end   H: QuarantineReply
 *           (the object taken out of use, deleted by the host after the grace; what it took off the usage)
 *   release C: {op:'release', kind, name}, end                 H: ReleaseReply (the object back from quarantine)
 *   prove   C: {op:'prove', kind, name, nonce, segmentSize, indices}, end   H: ProveReply
 *           (an audit: the segments at `indices` of the object and their Merkle paths, the nonce echoed;
 *           hosts that predate it reset the stream on the unknown op)
 *
 * Any request may carry `as`, an owner's peer id: a device of that owner (its second machine, which the
 * owner told this host of on /holdfast/device/1.0.0) reaches the owner's objects: get, has and list with
 * the read role, every request with the write role.
 *
 * Any reply may instead be an ErrorReply, after which the host ends the stream. Validators take what the CBOR
 * decoder gave (Maps) and return plain objects; an unknown key, a missing key or a wrong type is a
 * ProtocolError. Nothing outside this file needs to look inside a decoded Map.
 */
export interface PutRequest { op: 'put', kind: ObjectKind, name: string, size: number, as?: string }
export interface GetRequest { op: 'get', kind: ObjectKind, name: string, offset?: number, length?: number, as?: string }
export interface HasRequest { op: 'has', kind: ObjectKind, name: string, as?: string }
export interface ListRequest { op: 'list', kind: ObjectKind, as?: string }
export interface DeleteRequest { op: 'delete', kind: ObjectKind, name: string, as?: string }
export interface UsageRequest { op: 'usage', as?: string }
export interface ProveRequest { op: 'prove', kind: ObjectKind, name: string, nonce: Uint8Array, segmentSize: number, indices: number[], as?: string }
export interface DamagedRequest { op: 'damaged', as?: string }
export interface QuarantineRequest { op: 'quarantine', kind: ObjectKind, name: string, graceSeconds: number, as?: string }
export interface ReleaseRequest { op: 'release', kind: ObjectKind, name: string, as?: string }
export type Request = PutRequest | GetRequest | HasRequest | ListRequest | DeleteRequest | UsageRequest | ProveRequest | DamagedRequest | QuarantineRequest | ReleaseRequest
export type RequestOp = Request['op']

export interface WireError { code: string, message: string }
export interface ErrorReply { ok: false, error: WireError }
/** After a put header: `send` false when the host holds the object already (no bytes follow). */
export interface PutReady { ok: true, send: boolean }
/** After a put's bytes: how many bytes the host newly keeps (0 when another put won the race). */
export interface PutDone { ok: true, stored: number }
export interface GetHeader { ok: true, size: number }
export interface HasReply { ok: true, has: boolean }
export interface ListBatch { ok: true, names: string[], done: boolean }
export interface DeleteReply { ok: true, freed: number }
export interface QuarantineReply { ok: true, freed: number }
export interface ReleaseReply { ok: true, released: boolean }
export interface UsageReply { ok: true, objects: number, bytes: number, quota: number }
export interface DamagedItem { kind: ObjectKind, name: string, at: number, reason: string }
export interface DamagedBatch { ok: true, items: DamagedItem[], done: boolean }
export interface WireProof { index: number, segment: Uint8Array, path: Uint8Array[] }
export interface ProveReply { ok: true, nonce: Uint8Array, proofs: WireProof[] }

type Check = (value: unknown, field: string) => unknown

const isMap = (value: unknown): value is Map<unknown, unknown> => value instanceof Map

function fail (message: string): never {
  throw new ProtocolError(message)
}

/** Reads a decoded Map into a plain object, field by field; unknown or missing keys are refused. */
function record (value: unknown, what: string, required: Record<string, Check>, optional: Record<string, Check> = {}): Record<string, unknown> {
  if (!isMap(value)) fail(`${what}: expected a map`)
  const out: Record<string, unknown> = {} // only the schema's own keys are ever set
  for (const key of value.keys()) {
    if (typeof key !== 'string') fail(`${what}: keys must be strings`)
    if (!Object.hasOwn(required, key) && !Object.hasOwn(optional, key)) fail(`${what}: unexpected field ${JSON.stringify(key.slice(0, 32))}`)
  }
  for (const [key, check] of Object.entries(required)) {
    if (!value.has(key)) fail(`${what}: missing field ${key}`)
    out[key] = check(value.get(key), `${what}.${key}`)
  }
  for (const [key, check] of Object.entries(optional)) {
    if (value.has(key)) out[key] = check(value.get(key), `${what}.${key}`)
  }
  return out
}

const literal = (expected: unknown): Check => (value, field) => value === expected ? value : fail(`${field}: expected ${String(expected)}`)

const bool: Check = (value, field) => typeof value === 'boolean' ? value : fail(`${field}: expected a boolean`)

const kind: Check = (value, field) => typeof value === 'string' && (OBJECT_KINDS as readonly string[]).includes(value) ? value : fail(`${field}: unknown object kind`)

const name: Check = (value, field) => typeof value === 'string' && isObjectName(value) ? value : fail(`${field}: expected 64 lowercase hex digits`)

/** A non-negative integer no larger than `max`. */
const count = (max: number): Check => (value, field) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max ? value : fail(`${field}: expected an integer from 0 to ${max}`)

const anyCount = count(Number.MAX_SAFE_INTEGER)

const text = (max: number): Check => (value, field) => typeof value === 'string' && value.length <= max ? value : fail(`${field}: expected a string of at most ${max} characters`)

const names: Check = (value, field) => {
  if (!Array.isArray(value) || value.length > LIST_BATCH_SIZE) fail(`${field}: expected at most ${LIST_BATCH_SIZE} names`)
  return value.map((n, i) => name(n, `${field}[${i}]`))
}

/** A byte string of `min` to `max` bytes. */
const bytes = (min: number, max: number): Check => (value, field) =>
  value instanceof Uint8Array && value.length >= min && value.length <= max ? value : fail(`${field}: expected ${min === max ? min : `${min} to ${max}`} bytes`)

const nonce = bytes(16, 64)

/** A peer id's text (base58btc): what `as` names. */
const owner: Check = (value, field) => typeof value === 'string' && /^[1-9A-HJ-NP-Za-km-z]{40,64}$/.test(value) ? value : fail(`${field}: expected a peer id`)

const segmentSize: Check = (value, field) => count(MAX_PROVE_SEGMENT_SIZE)(value, field) as number >= MIN_PROVE_SEGMENT_SIZE
  ? value
  : fail(`${field}: expected a segment size from ${MIN_PROVE_SEGMENT_SIZE} to ${MAX_PROVE_SEGMENT_SIZE}`)

/** 1 to MAX_PROVE_SEGMENTS distinct segment indices. */
const indices: Check = (value, field) => {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_PROVE_SEGMENTS) fail(`${field}: expected 1 to ${MAX_PROVE_SEGMENTS} indices`)
  const out = value.map((v, i) => count(MAX_OBJECT_SIZE)(v, `${field}[${i}]`) as number)
  if (new Set(out).size !== out.length) fail(`${field}: indices repeat`)
  return out
}

const pathOf: Check = (value, field) => {
  if (!Array.isArray(value) || value.length > MAX_PROOF_PATH) fail(`${field}: expected at most ${MAX_PROOF_PATH} hashes`)
  return value.map((h, i) => bytes(32, 32)(h, `${field}[${i}]`))
}

const proofs: Check = (value, field) => {
  if (!Array.isArray(value) || value.length > MAX_PROVE_SEGMENTS) fail(`${field}: expected at most ${MAX_PROVE_SEGMENTS} proofs`)
  return value.map((p, i) => {
    const r = record(p, `${field}[${i}]`, { index: count(MAX_OBJECT_SIZE), segment: bytes(0, MAX_PROVE_SEGMENT_SIZE), path: pathOf })
    return r as unknown as WireProof
  })
}

const damagedItems: Check = (value, field) => {
  if (!Array.isArray(value) || value.length > LIST_BATCH_SIZE) fail(`${field}: expected at most ${LIST_BATCH_SIZE} items`)
  return value.map((item, i) => record(item, `${field}[${i}]`, { kind, name, at: anyCount, reason: text(MAX_ERROR_MESSAGE) }))
}

const wireError: Check = (value, field) => record(value, field, { code: text(64), message: text(MAX_ERROR_MESSAGE) })

const REQUESTS: Record<RequestOp, { required: Record<string, Check>, optional?: Record<string, Check> }> = {
  put: { required: { op: literal('put'), kind, name, size: count(MAX_OBJECT_SIZE) }, optional: { as: owner } },
  get: { required: { op: literal('get'), kind, name }, optional: { offset: anyCount, length: anyCount, as: owner } },
  has: { required: { op: literal('has'), kind, name }, optional: { as: owner } },
  list: { required: { op: literal('list'), kind }, optional: { as: owner } },
  delete: { required: { op: literal('delete'), kind, name }, optional: { as: owner } },
  usage: { required: { op: literal('usage') }, optional: { as: owner } },
  prove: { required: { op: literal('prove'), kind, name, nonce, segmentSize, indices }, optional: { as: owner } },
  damaged: { required: { op: literal('damaged') }, optional: { as: owner } },
  quarantine: { required: { op: literal('quarantine'), kind, name, graceSeconds: anyCount }, optional: { as: owner } },
  release: { required: { op: literal('release'), kind, name }, optional: { as: owner } }
}

/** Validates a decoded request. An announced size above MAX_OBJECT_SIZE is refused here, before any byte. */
export function parseRequest (value: unknown): Request {
  const op = isMap(value) ? value.get('op') : undefined
  if (typeof op !== 'string' || !Object.hasOwn(REQUESTS, op)) fail('request: unknown or missing op')
  const schema = REQUESTS[op as RequestOp]
  return record(value, `${op} request`, schema.required, schema.optional) as unknown as Request
}

/** Validates a reply: an ErrorReply, or the success shape given by `fields` (besides `ok`). */
function parseReply<T> (value: unknown, what: string, fields: Record<string, Check>): T | ErrorReply {
  const ok = isMap(value) ? value.get('ok') : undefined
  if (ok === false) return { ok: false, error: record(value, what, { ok: literal(false), error: wireError }).error as WireError }
  if (ok !== true) fail(`${what}: expected ok true or false`)
  return record(value, what, { ok: literal(true), ...fields }) as T
}

export const parsePutReady = (v: unknown): PutReady | ErrorReply => parseReply(v, 'put reply', { send: bool })
export const parsePutDone = (v: unknown): PutDone | ErrorReply => parseReply(v, 'put result', { stored: count(MAX_OBJECT_SIZE) })
export const parseGetHeader = (v: unknown): GetHeader | ErrorReply => parseReply(v, 'get reply', { size: count(MAX_OBJECT_SIZE) })
export const parseHasReply = (v: unknown): HasReply | ErrorReply => parseReply(v, 'has reply', { has: bool })
export const parseListBatch = (v: unknown): ListBatch | ErrorReply => parseReply(v, 'list reply', { names, done: bool })
export const parseDeleteReply = (v: unknown): DeleteReply | ErrorReply => parseReply(v, 'delete reply', { freed: count(MAX_OBJECT_SIZE) })
export const parseQuarantineReply = (v: unknown): QuarantineReply | ErrorReply => parseReply(v, 'quarantine reply', { freed: count(MAX_OBJECT_SIZE) })
export const parseReleaseReply = (v: unknown): ReleaseReply | ErrorReply => parseReply(v, 'release reply', { released: bool })
export const parseUsageReply = (v: unknown): UsageReply | ErrorReply => parseReply(v, 'usage reply', { objects: anyCount, bytes: anyCount, quota: anyCount })
export const parseProveReply = (v: unknown): ProveReply | ErrorReply => parseReply(v, 'prove reply', { nonce, proofs })
export const parseDamagedBatch = (v: unknown): DamagedBatch | ErrorReply => parseReply(v, 'damaged reply', { items: damagedItems, done: bool })
