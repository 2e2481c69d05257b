import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import type { NodeConfig } from './node-config.js'
import { parseNodeConfig } from './parse-node-config.js'

/** Where a home keeps its optional node configuration. */
export const nodeConfigPath = (home: string): string => join(home, 'node.json')

/** Reads HOME/node.json (optional: missing means all defaults) and merges it over the defaults. */
export async function loadNodeConfig (home: string): Promise<NodeConfig> {
  const path = nodeConfigPath(home)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parseNodeConfig(undefined, path)
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
  let parsed: unknown
  try { parsed = JSON.parse(text) } catch (err) {
    throw new ConfigError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  return parseNodeConfig(parsed, path)
}
