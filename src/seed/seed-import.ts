import { createHash } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { SeedError } from '../errors.js'
import { checkAbort } from '../util/check-abort.js'
import { MAX_MANIFEST_BYTES, SEED_MANIFEST, verifyManifest } from './seed-manifest.js'
import { seedShardPath } from './seed-export.js'

export interface SeedImportResult {
  owner: string
  imported: number
  bytes: number
  /** Already held. */
  present: number
  refused: Array<{ name: string, reason: string }>
}

export interface SeedHost {
  /** This node's peer id: the seed must be meant for it. */
  self: string
  /** Whether the owner is a trusted peer. */
  trusts: (peer: string) => boolean
  has: (owner: string, name: string) => Promise<boolean>
  /** Stores the bytes into the owner's space (quota applies); the host checks the hash again. */
  put: (owner: string, name: string, data: Uint8Array) => Promise<void>
}

/**
 * Takes a seed in, verified: the manifest signed by a trusted owner, meant for this host, and each shard
 * only if its bytes hash to its name. A bad shard is refused and reported; the others still go in.
 */
export async function importSeed (dir: string, host: SeedHost, options: { signal?: AbortSignal } = {}): Promise<SeedImportResult> {
  const manifestPath = join(dir, SEED_MANIFEST)
  let size: number
  try { size = (await stat(manifestPath)).size } catch { throw new SeedError(`${dir} holds no seed (${SEED_MANIFEST} missing)`) }
  if (size > MAX_MANIFEST_BYTES) throw new SeedError(`${manifestPath} is larger than ${MAX_MANIFEST_BYTES} bytes`)
  const m = await verifyManifest(await readFile(manifestPath, 'utf8'))
  if (m.host !== host.self) throw new SeedError(`this seed is meant for ${m.host}, not for this node (${host.self})`)
  if (!host.trusts(m.owner)) throw new SeedError(`the seed's owner ${m.owner} is not a trusted peer of this node`)
  const result: SeedImportResult = { owner: m.owner, imported: 0, bytes: 0, present: 0, refused: [] }
  for (const s of m.shards) {
    checkAbort(options.signal)
    try {
      if (await host.has(m.owner, s.name)) { result.present++; continue }
      const path = seedShardPath(dir, s.name)
      const st = await stat(path)
      if (st.size !== s.size) throw new SeedError(`${st.size} bytes, the manifest says ${s.size}`)
      const data = await readFile(path)
      if (createHash('sha256').update(data).digest('hex') !== s.name) throw new SeedError('its bytes do not hash to its name (damaged on the way)')
      await host.put(m.owner, s.name, data)
      result.imported++
      result.bytes += data.length
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      result.refused.push({ name: s.name, reason: (err as Error).message })
    }
  }
  return result
}
