import { createHash } from 'node:crypto'
import { PlacementError } from '../errors.js'

/**
 * Chooses the stores for the n shards of a pack: n distinct stores by rendezvous (highest random weight)
 * hashing of (pack id, store id). Pure and stable: the same inputs always give the same answer. The SET of
 * stores chosen for a pack changes by at most one member when one store is added or removed (the new store
 * in, or the removed one out); which shard index lands on which chosen store follows the weight order, so
 * a rebalance moves the one shard on the store that left the set, whatever its index.
 */
export function placeShards (packId: string, n: number, storeIds: readonly string[]): string[] {
  const distinct = [...new Set(storeIds)]
  if (distinct.length < n) {
    throw new PlacementError(`cannot place ${n} shards on distinct stores: only ${distinct.length} available (${distinct.join(', ') || 'none'})`)
  }
  const weight = (id: string): string => createHash('sha256').update(packId).update('\0').update(id).digest('hex')
  return distinct.map(id => ({ id, w: weight(id) }))
    .sort((a, b) => a.w < b.w ? 1 : a.w > b.w ? -1 : 0)
    .slice(0, n)
    .map(x => x.id)
}
