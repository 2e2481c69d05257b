/** A peer as the fair share sees it: where it stands and its weight (room x reputation, as placement weighs it). */
export interface SharePeer {
  id: string
  site: string
  weight: number
}

/**
 * The quota-weighted fair share of each peer in the placement of `need` shards of one pack: the chance
 * that each peer gets one (at most 1), in proportion to its weight, under placement's hard rules. No
 * peer takes more than one shard of a pack, and no site more than its cap (`siteCap(site)`: the site
 * limit less the shards of the pack the site already holds). What a peer or a site cannot take goes to
 * the others in proportion to their weights: p = min(1, lambda x weight) with one lambda for every peer,
 * lowered within a site that would exceed its cap until that site holds exactly its cap. Pure; the shares
 * sum to `need`. Undefined when the rules leave no room for `need` shards.
 */
export function fairShares (peers: readonly SharePeer[], need: number, siteCap: (site: string) => number): Map<string, number> | undefined {
  const top = Math.max(0, ...peers.map(p => p.weight))
  const sites = new Map<string, Array<{ id: string, w: number }>>()
  for (const p of peers) {
    if (!(p.weight > 0)) continue
    const list = sites.get(p.site) ?? []
    list.push({ id: p.id, w: p.weight / top })
    sites.set(p.site, list)
  }
  const groups = [...sites].map(([site, list]) => ({ cap: Math.max(0, siteCap(site)), list }))
  if (groups.reduce((s, g) => s + Math.min(g.cap, g.list.length), 0) < need) return undefined
  const demand = (list: ReadonlyArray<{ w: number }>, lambda: number): number => list.reduce((s, p) => s + Math.min(1, lambda * p.w), 0)
  const lambda = solve(l => groups.reduce((s, g) => s + Math.min(g.cap, demand(g.list, l)), 0), need)
  const shares = new Map<string, number>()
  for (const g of groups) {
    const own = demand(g.list, lambda) > g.cap ? solve(l => demand(g.list, l), g.cap) : lambda
    for (const p of g.list) shares.set(p.id, Math.min(1, own * p.w))
  }
  return shares
}

/** The smallest lambda at which the non-decreasing f (f(0) = 0) reaches `target`, by bisection. */
function solve (f: (lambda: number) => number, target: number): number {
  if (target <= 0) return 0
  let hi = 1
  while (f(hi) < target && hi < 1e300) hi *= 2
  let lo = 0
  for (let i = 0; i < 120 && hi - lo > hi * 1e-15; i++) {
    const mid = (lo + hi) / 2
    if (f(mid) < target) lo = mid; else hi = mid
  }
  return hi
}

/**
 * Systematic sampling: `count` of the units, unit i with probability shares[i] exactly (shares in [0, 1],
 * summing to `count`), from one number `start` in [0, 1). The units are laid end to end in the given
 * order and one is taken at each of start, start + 1, ...: a run of consecutive units whose shares sum to
 * S gets floor(S) or ceil(S) of them, never more, which is how placement keeps each site (its peers laid
 * side by side) within its cap. Indices of the units taken, ascending; fewer than `count` only when
 * rounding left the last point past the end (the caller checks).
 */
export function systematicSample (shares: readonly number[], count: number, start: number): number[] {
  const taken: number[] = []
  let edge = 0
  let next = start
  for (let i = 0; i < shares.length && taken.length < count; i++) {
    edge += shares[i]
    if (next < edge) {
      taken.push(i)
      next += 1
    }
  }
  return taken
}
