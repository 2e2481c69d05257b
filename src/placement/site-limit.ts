/**
 * The most shards of a k+m pack that any one site should hold when the pack is spread over `siteCount`
 * sites: the even spread, ceil((k+m) / siteCount). Undefined when that is more than m (or there is no
 * site): then whatever the placement, some site holds more than m shards and losing that site loses the
 * pack. With m = 0 it is always undefined: every shard is needed, so no site may hold one.
 *
 * This counts sites only. `placePack` reaches this limit when every site has enough usable peers; when
 * some have too few it uses the smallest limit their peers allow, still at most m for a full spread.
 */
export function siteLimitFor (k: number, m: number, siteCount: number): number | undefined {
  if (!(siteCount >= 1)) return undefined
  const even = Math.ceil((k + m) / siteCount)
  return even <= m ? even : undefined
}

/** One site as placement sees it: shards of the pack it already holds, and usable peers left to take more. */
export interface SiteRoom {
  held: number
  peers: number
}

/**
 * How many more shards fit on these sites with at most `cap` shards of the pack on any site and at
 * most one on any peer; -1 when some site already holds more than `cap`.
 */
export function shardsThatFit (sites: Iterable<SiteRoom>, cap: number): number {
  let fit = 0
  for (const s of sites) {
    if (s.held > cap) return -1
    fit += Math.min(s.peers, cap - s.held)
  }
  return fit
}

/**
 * The smallest per-site limit at which `need` more shards fit (the most even spread these sites allow),
 * or undefined when they do not fit at any limit (fewer usable peers than `need`).
 */
export function smallestSiteCap (sites: readonly SiteRoom[], need: number): number | undefined {
  let top = 0
  let peers = 0
  for (const s of sites) { top = Math.max(top, s.held); peers += s.peers }
  if (peers < need) return undefined
  for (let cap = Math.max(top, need > 0 ? 1 : 0); ; cap++) {
    if (shardsThatFit(sites, cap) >= need) return cap
  }
}
