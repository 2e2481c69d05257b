import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import type { Repository } from '../repository/repository.js'
import { checkAbort } from '../util/check-abort.js'
import { SeedError } from '../errors.js'
import { SEED_KIND, SEED_MANIFEST, SeedManifest, signManifest } from './seed-manifest.js'

export interface SeedExportResult { shards: number, bytes: number, failed: Array<{ pack: string, error: string }> }

/** Where a seed keeps a shard: DIR/shards/<2 hex>/<64 hex>. */
export const seedShardPath = (dir: string, name: string): string => join(dir, 'shards', name.slice(0, 2), name)

/**
 * Writes every shard the register places on `storeId` to `dir`, each one rebuilt from the pack's other
 * shards and checked against its name, with a manifest signed by the owner (the host needs nothing else
 * to take them in: `holdfast seed import`).
 */
export async function exportSeed (repo: Repository, storeId: string, hostPeerId: string, dir: string, key: PrivateKey, options: { ownerPeerId: string, signal?: AbortSignal, onProgress?: (done: number, total: number) => void }): Promise<SeedExportResult> {
  const packs = [...repo.register.packs.values()].filter(d => d.shards.some(s => s.store === storeId))
  if (packs.length === 0) throw new SeedError(`no shard is placed on ${storeId}`)
  await mkdir(dir, { recursive: true })
  const manifest: SeedManifest = { kind: SEED_KIND, v: 1, created: new Date().toISOString(), owner: options.ownerPeerId, host: hostPeerId, shards: [] }
  const result: SeedExportResult = { shards: 0, bytes: 0, failed: [] }
  let done = 0
  for (const desc of packs) {
    checkAbort(options.signal)
    const indices = desc.shards.flatMap((s, i) => s.store === storeId ? [i] : [])
    try {
      // regenerated from the other stores (and checked against the recorded names): the host's own copy is not needed
      const shards = await repo.regenerateShards(desc, indices, { signal: options.signal })
      for (const [i, data] of shards) {
        const name = desc.shards[i].name
        const path = seedShardPath(dir, name)
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, data)
        manifest.shards.push({ name, size: data.length })
        result.shards++
        result.bytes += data.length
      }
    } catch (err) {
      if (options.signal?.aborted === true) throw err
      result.failed.push({ pack: desc.id, error: (err as Error).message })
    }
    options.onProgress?.(++done, packs.length)
  }
  await writeFile(join(dir, SEED_MANIFEST), JSON.stringify(await signManifest(manifest, key)) + '\n')
  return result
}
