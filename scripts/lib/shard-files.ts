import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** The shard files of a store directory (shard/<prefix>/<64 hex>), sorted; none when it has no shard folder. */
export async function shardFiles (store: string): Promise<string[]> {
  const out: string[] = []
  let prefixes: string[]
  try { prefixes = await readdir(join(store, 'shard')) } catch { return out }
  for (const prefix of prefixes.sort()) {
    for (const name of (await readdir(join(store, 'shard', prefix))).sort()) {
      if (/^[0-9a-f]{64}$/.test(name)) out.push(join(store, 'shard', prefix, name))
    }
  }
  return out
}
