import { NotFoundError, UsageError } from '../errors.js'
import type { RawNodeConfig } from './write-node-config.js'

/** The keys of a backup set the dashboard may give (checked afterwards as node.json is: parse-node-config.ts). */
export const SET_KEYS = ['name', 'paths', 'exclude', 'schedule', 'watch', 'minAgeSeconds', 'rescanSeconds', 'ping', 'standby'] as const

/** What a set looks like in node.json as written (only what its owner wrote). */
export type RawBackupSet = Record<string, unknown>

/**
 * Edits of node.json's backup.sets, pure: each takes the file as written and gives the new one, leaving
 * every other key as it was. What they produce is checked by updateNodeConfig with the daemon's own rules
 * (ConfigError with the config's texts); here only the request's shape is checked.
 */
export function addBackupSet (raw: RawNodeConfig, set: unknown): RawNodeConfig {
  const fields = setFields(set)
  if (typeof fields.name !== 'string' || fields.name === '') throw new UsageError('a new set needs a name')
  return withSets(raw, [...setsOf(raw), withoutEmpty(fields)])
}

/** Replaces the fields given (name aside: a set is not renamed) of the set called `name`; NotFoundError when none is. */
export function changeBackupSet (raw: RawNodeConfig, name: string, change: unknown): RawNodeConfig {
  const fields = setFields(change)
  if (fields.name != null && fields.name !== name) throw new UsageError(`a set is not renamed: remove it and add one named ${JSON.stringify(fields.name)}`)
  const sets = setsOf(raw)
  const i = indexOf(sets, name)
  const next = withoutEmpty({ ...sets[i], ...fields, name })
  return withSets(raw, sets.map((s, j) => j === i ? next : s))
}

export function removeBackupSet (raw: RawNodeConfig, name: string): RawNodeConfig {
  const sets = setsOf(raw)
  const i = indexOf(sets, name)
  return withSets(raw, sets.filter((_, j) => j !== i))
}

/** An empty schedule, ping or standby is written as the default would be: left out. */
function withoutEmpty (set: RawBackupSet): RawBackupSet {
  const out = { ...set }
  for (const key of ['schedule', 'ping', 'standby']) if (out[key] === '') delete out[key]
  return out
}

function setFields (v: unknown): RawBackupSet {
  if (v == null || typeof v !== 'object' || Array.isArray(v)) throw new UsageError('the set must be a JSON object')
  const unknown = Object.keys(v).filter(k => !(SET_KEYS as readonly string[]).includes(k))
  if (unknown.length > 0) throw new UsageError(`unknown key ${JSON.stringify(unknown[0])} of a set (known: ${SET_KEYS.join(', ')})`)
  return { ...v as RawBackupSet }
}

function setsOf (raw: RawNodeConfig): RawBackupSet[] {
  const backup = raw.backup as { sets?: unknown } | undefined
  const sets = backup?.sets
  return Array.isArray(sets) ? sets.map(s => ({ ...(s as RawBackupSet) })) : []
}

function indexOf (sets: RawBackupSet[], name: string): number {
  const i = sets.findIndex(s => s.name === name)
  if (i < 0) throw new NotFoundError(`no backup set named ${JSON.stringify(name)}`)
  return i
}

function withSets (raw: RawNodeConfig, sets: RawBackupSet[]): RawNodeConfig {
  const backup = raw.backup != null && typeof raw.backup === 'object' && !Array.isArray(raw.backup) ? raw.backup as Record<string, unknown> : {}
  return { ...raw, backup: { ...backup, sets } }
}
