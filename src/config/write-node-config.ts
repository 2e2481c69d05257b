import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { ConfigError } from '../errors.js'
import { nodeConfigPath } from './load-node-config.js'
import type { NodeConfig } from './node-config.js'
import { parseNodeConfig } from './parse-node-config.js'

/** A node.json as its owner wrote it (only what differs from the defaults). */
export type RawNodeConfig = Record<string, unknown>

/** HOME/node.json as written (an empty object when there is none). */
export async function readRawNodeConfig (home: string): Promise<RawNodeConfig> {
  const path = nodeConfigPath(home)
  let text: string
  try { text = await readFile(path, 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  if (parsed == null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${path} must hold a JSON object`)
  return parsed as RawNodeConfig
}

/**
 * Changes HOME/node.json: `change` gets the file as written and returns the new one, which is checked
 * exactly as the daemon checks the file (ConfigError with the same texts, and nothing written when it
 * fails), then written whole (a temporary file renamed over the old one, mode 0600). Returns the
 * checked configuration.
 */
export async function updateNodeConfig (home: string, change: (raw: RawNodeConfig) => RawNodeConfig): Promise<NodeConfig> {
  const path = nodeConfigPath(home)
  const next = change(structuredClone(await readRawNodeConfig(home)))
  const config = parseNodeConfig(next, path)
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(tmp, JSON.stringify(next, null, 2) + '\n', { mode: 0o600, flush: true })
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  return config
}
