import { formatBytes } from '../util/format.js'

/** Peers named one by one in a message; the rest are counted. */
const MAX_LISTED = 10

/** A candidate that cannot take a shard of the pack, and why in a few words. */
export interface UnusablePeer {
  id: string
  why: string
}

/** A site as a shortfall message describes it. */
export interface SiteSummary {
  name: string
  /** Peers there that already hold a shard of the pack (fixed), in index order. */
  heldBy: string[]
  /** Usable peers there that could take one more. */
  peers: number
}

function listed (items: readonly string[]): string {
  if (items.length <= MAX_LISTED) return items.join(', ')
  return `${items.slice(0, MAX_LISTED).join(', ')} and ${items.length - MAX_LISTED} more`
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

export const packLabel = (packId: string): string => `pack ${packId.slice(0, 12)}`

/**
 * Too few distinct usable peers for the shards still to place: always an error, whatever the policy.
 * E.g. "pack 0a1b2c3d4e5f: need 6 distinct online peers with room for a 4.00 MiB shard, have 5: peer X
 * offline, peer Y quota full (1.00 MiB free)".
 */
export function peerShortfall (o: {
  packId: string
  k: number
  m: number
  shardBytes: number
  missing: readonly number[]
  usable: number
  unusable: readonly UnusablePeer[]
}): string {
  const n = o.k + o.m
  const repair = o.missing.length < n
  const need = repair
    ? `need ${o.missing.length} more distinct online peer${o.missing.length === 1 ? '' : 's'} with room for a ${formatBytes(o.shardBytes)} shard ` +
      `(shard${o.missing.length === 1 ? '' : 's'} ${o.missing.join(', ')} of ${o.k}+${o.m}; ${n - o.missing.length} already placed)`
    : `need ${n} distinct online peer${n === 1 ? '' : 's'} with room for a ${formatBytes(o.shardBytes)} shard`
  const why = o.unusable.length > 0
    ? listed(o.unusable.map(p => `peer ${p.id} ${p.why}`))
    : o.usable === 0 && !repair ? 'no candidate peers' : 'no other candidates'
  return `${packLabel(o.packId)}: ${need}, have ${o.usable}: ${why}`
}

/**
 * The site rule (no site holds more than m shards of the pack) cannot be met, though there are enough
 * peers; `cap` is the fewest shards the busiest site can be held to. E.g. "pack 0a1b2c3d4e5f: only 2 sites
 * have usable peers (home, office); at 4+2 one site would hold 3 shards, more than m=2".
 */
export function siteShortfall (o: {
  packId: string
  k: number
  m: number
  need: number
  cap: number
  sites: readonly SiteSummary[]
  /** Sites of candidates where no peer is usable and none holds a shard. */
  deadSites: readonly string[]
}): string {
  const { k, m } = o
  const n = k + m
  const label = packLabel(o.packId)
  if (m === 0) {
    return `${label}: at ${k}+0 there is no parity shard, so losing any site that holds a shard loses the pack`
  }
  const over = o.sites.filter(s => s.heldBy.length > m)
  if (over.length > 0) {
    return `${label}: ` + over.map(s =>
      `site ${s.name} already holds ${s.heldBy.length} shards of this pack (${listed(s.heldBy)}), more than m=${m}`).join('; ')
  }
  const wouldHold = `at ${k}+${m} one site would hold ${o.cap} shards, more than m=${m}`
  const repair = o.need < n
  if (o.sites.length * m < n) {
    const one = o.sites.length === 1
    const verb = repair ? (one ? 'holds a shard or has' : 'hold a shard or have') : (one ? 'has' : 'have')
    const dead = o.deadSites.length > 0 ? `; no usable peer at ${listed(o.deadSites)}` : ''
    return `${label}: only ${plural(o.sites.length, 'site')} ${verb} usable peers ` +
      `(${listed(o.sites.map(s => s.name))})${dead}; ${wouldHold}`
  }
  const fit = o.sites.reduce((sum, s) => sum + Math.min(s.peers, m - s.heldBy.length), 0)
  const detail = o.sites.map(s => `${s.name}: ${s.heldBy.length > 0 ? `${s.heldBy.length} held + ` : ''}${plural(s.peers, 'peer')}`)
  const shards = repair ? `the ${o.need} missing shards` : `the ${n} shards`
  return `${label}: ${wouldHold}: with at most ${m} per site the usable peers take only ${fit} of ${shards} (${listed(detail)})`
}
