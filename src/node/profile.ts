import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'

/**
 * How this node presents itself to peers at pairing: a display name and the site it stands at
 * (`holdfast init --site NAME`). Sites matter for placement: shards of a pack go to distinct sites
 * where possible, so one fire or flood does not take several of them.
 */
export interface NodeProfile {
  name: string
  site: string
}

export const profilePath = (home: string): string => join(home, 'profile.json')

/** Longest name or site accepted, in characters. */
export const MAX_LABEL_LENGTH = 64

/** A printable label of 1 to MAX_LABEL_LENGTH characters (no control characters). */
export function isValidLabel (v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_LABEL_LENGTH && !/[\u0000-\u001f\u007f]/.test(v)
}

/** Reads the profile; a home without one gets the host name and site "default". */
export async function readProfile (home: string): Promise<NodeProfile> {
  let text: string
  try {
    text = await readFile(profilePath(home), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { name: defaultName(), site: 'default' }
    throw err
  }
  let p: unknown
  try { p = JSON.parse(text) } catch (err) { throw new ConfigError(`${profilePath(home)} is not valid JSON`, { cause: err }) }
  const o = p as Partial<NodeProfile> & { version?: unknown }
  if (o?.version !== 1 || !isValidLabel(o.name) || !isValidLabel(o.site)) {
    throw new ConfigError(`${profilePath(home)} is not a valid profile (version 1, name and site of 1-${MAX_LABEL_LENGTH} printable characters)`)
  }
  return { name: o.name, site: o.site }
}

export async function writeProfile (home: string, profile: NodeProfile): Promise<void> {
  if (!isValidLabel(profile.name)) throw new ConfigError(`node name must be 1-${MAX_LABEL_LENGTH} printable characters`)
  if (!isValidLabel(profile.site)) throw new ConfigError(`site must be 1-${MAX_LABEL_LENGTH} printable characters`)
  await writeFileAtomic(profilePath(home), JSON.stringify({ version: 1, name: profile.name, site: profile.site }, null, 2) + '\n')
}

function defaultName (): string {
  const h = hostname().slice(0, MAX_LABEL_LENGTH)
  return isValidLabel(h) ? h : 'holdfast-node'
}
