import { ConfigError, PlacementError } from '../errors.js'
import { formatBytes } from '../util/format.js'
import { peerShortfall, siteShortfall, type SiteSummary, type UnusablePeer } from './shortfall.js'
import { smallestSiteCap } from './site-limit.js'
import { fairShares, systematicSample } from './fair-shares.js'
import { hashToUnit, indexScore, weightedScore } from './weighted-rendezvous.js'

/** A peer that might take a shard, as the caller sees it at the moment of placing. */
export interface PlacementCandidate {
  /** Unique among the candidates. */
  id: string
  /** Where the peer stands (`holdfast init --site`): peers at one site can be lost together. */
  site: string
  /** Quota granted minus quota used, in bytes (negative when over quota). */
  freeBytes: number
  /** From 0 to 1; 0 means disqualified: never chosen. */
  reputation: number
  online: boolean
}

/** One pack to place: its k data + m parity shards, each `shardBytes` long. */
export interface PackToPlace {
  packId: string
  k: number
  m: number
  shardBytes: number
  /** Repair: peers that already hold a shard of this pack that is not kept (never chosen, not counted). */
  exclude?: Iterable<string>
  /** Repair: shard index -> the peer that holds it and keeps it. Only the other indices are placed. */
  fixed?: ReadonlyMap<number, string>
}

export interface PlacementInput extends PackToPlace {
  candidates: readonly PlacementCandidate[]
}

export interface PlacementPolicy {
  /**
   * When no placement keeps every site at m shards or fewer: 'fail' throws a PlacementError saying why;
   * 'reduced' places the shards anyway, as evenly over the sites as the peers allow, and says why in
   * `reason`. Too few distinct usable peers is a PlacementError under both.
   */
  onShortfall: 'fail' | 'reduced'
}

export interface Placement {
  /** Shard index -> peer id, k+m distinct peers (fixed indices keep their peer). */
  peers: string[]
  /** 'full': no site holds more than m shards. 'reduced': some site does; the pack needs rebalancing. */
  spread: 'full' | 'reduced'
  /** Why the spread is reduced, in plain words (the message 'fail' would have thrown). */
  reason?: string
}

/**
 * Chooses the peers for the k+m shards of a pack; pure and deterministic (the order of the candidates
 * does not matter). See `placePacks` for the rules. For a single pack a peer needs freeBytes >= shardBytes.
 */
export function placePack (input: PlacementInput, policy: PlacementPolicy): Placement {
  return placePacks([input], input.candidates, policy)[0]
}

/**
 * Chooses the peers for the shards of several packs, in order, from one list of candidates. The room a
 * peer has for a pack is its freeBytes minus the shards this call already gave it for the packs before,
 * so placing packs together gives what placing them one by one would, with each placement taken off
 * freeBytes in between. Rules, for each pack:
 *
 * 1. A peer is usable when it is online, its reputation is above 0, it has room for one shard, it is not
 *    excluded and does not hold a fixed shard of the pack. Each usable peer takes at most one shard, so
 *    the pack's k+m shards are on k+m distinct peers. Fewer usable peers than shards to place is a
 *    PlacementError, whatever the policy: redundancy is never silently reduced.
 * 2. Sites: the per-site limit is the smallest number of shards of the pack on the busiest site that the
 *    usable peers (and the fixed shards) allow; with enough peers everywhere that is the even spread,
 *    `siteLimitFor(k, m, sites)`. If that limit is at most m, losing any one site loses at most m shards
 *    (spread 'full'); if not, the policy decides ('fail' throws, 'reduced' places under that limit).
 * 3. Which peers: each usable peer is chosen with exactly its fair share (fair-shares.ts: in proportion
 *    to reputation x room, at most one shard, no site above the limit), by systematic sampling over the
 *    peers laid out site by site in an order drawn from the pack id (`fairChoice`). Weighted rendezvous
 *    ranking, skipping sites at the limit (`rankWalk`), decides only when rounding would break a rule.
 * 4. Which index: each (missing index, chosen peer) pair gets a hash score; pairs are taken best first,
 *    each index and each peer once.
 *
 * Stability: the same inputs give the same placement, whatever the order of the candidates. Other
 * candidates change the shares, and so the choice: an existing pack is repaired with `fixed`, which moves
 * only the missing indices.
 */
export function placePacks (packs: readonly PackToPlace[], candidates: readonly PlacementCandidate[], policy: PlacementPolicy): Placement[] {
  if (policy?.onShortfall !== 'fail' && policy?.onShortfall !== 'reduced') {
    throw new ConfigError(`placement: onShortfall must be 'fail' or 'reduced', got ${String(policy?.onShortfall)}`)
  }
  const byId = checkCandidates(candidates)
  const sorted = [...byId.values()].sort((a, b) => compareIds(a.id, b.id))
  const taken = new Map<string, number>()
  return packs.map(pack => {
    const placement = placeOne(pack, byId, sorted, taken, policy)
    const fixed = pack.fixed ?? new Map<number, string>()
    placement.peers.forEach((id, i) => {
      if (fixed.get(i) !== id) taken.set(id, (taken.get(id) ?? 0) + pack.shardBytes)
    })
    return placement
  })
}

const compareIds = (a: string, b: string): number => a < b ? -1 : a > b ? 1 : 0

function checkCandidates (candidates: readonly PlacementCandidate[]): Map<string, PlacementCandidate> {
  const byId = new Map<string, PlacementCandidate>()
  for (const c of candidates) {
    if (typeof c.id !== 'string' || c.id === '') throw new ConfigError('placement: a candidate has no id')
    if (byId.has(c.id)) throw new ConfigError(`placement: candidate ${c.id} is listed twice`)
    if (typeof c.site !== 'string' || c.site === '') throw new ConfigError(`placement: candidate ${c.id} has no site`)
    if (!Number.isFinite(c.freeBytes)) throw new ConfigError(`placement: candidate ${c.id} has freeBytes ${c.freeBytes}, not a finite number`)
    if (!(c.reputation >= 0 && c.reputation <= 1)) throw new ConfigError(`placement: candidate ${c.id} has reputation ${c.reputation}, not in [0, 1]`)
    if (typeof c.online !== 'boolean') throw new ConfigError(`placement: candidate ${c.id} has no online flag`)
    byId.set(c.id, c)
  }
  return byId
}

interface Usable {
  peer: PlacementCandidate
  /** reputation x room */
  weight: number
}

function placeOne (
  pack: PackToPlace,
  byId: ReadonlyMap<string, PlacementCandidate>,
  sorted: readonly PlacementCandidate[],
  taken: ReadonlyMap<string, number>,
  policy: PlacementPolicy
): Placement {
  const { packId, k, m, shardBytes } = pack
  if (typeof packId !== 'string' || packId === '') throw new ConfigError('placement: a pack has no id')
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(`placement: k must be an integer of at least 1, got ${k}`)
  if (!Number.isInteger(m) || m < 0) throw new ConfigError(`placement: m must be an integer of at least 0, got ${m}`)
  if (!(Number.isFinite(shardBytes) && shardBytes >= 0)) throw new ConfigError(`placement: shard size must be a finite number of bytes, got ${shardBytes}`)
  const n = k + m
  const fixed = pack.fixed ?? new Map<number, string>()
  const holders = new Set<string>()
  for (const [index, id] of fixed) {
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new ConfigError(`placement: fixed shard index ${index} is not in 0..${n - 1}`)
    if (!byId.has(id)) throw new ConfigError(`placement: peer ${id} holding shard ${index} is not among the candidates (its site is needed)`)
    if (holders.has(id)) throw new ConfigError(`placement: peer ${id} is given more than one fixed shard; keep one and place the others`)
    holders.add(id)
  }
  const exclude = new Set(pack.exclude ?? [])
  const missing = Array.from({ length: n }, (_, i) => i).filter(i => !fixed.has(i))

  const usable: Usable[] = []
  const unusable: UnusablePeer[] = []
  for (const peer of sorted) {
    if (holders.has(peer.id)) continue
    const already = taken.get(peer.id) ?? 0
    const room = peer.freeBytes - already
    let why: string | undefined
    if (exclude.has(peer.id)) why = 'already holds a shard of this pack'
    else if (peer.reputation === 0) why = 'disqualified (reputation 0)'
    else if (!peer.online) why = 'offline'
    else if (room < shardBytes) {
      why = `quota full (${formatBytes(Math.max(0, room))} free${already > 0 ? ' after the earlier packs of this call' : ''})`
    }
    if (why !== undefined) unusable.push({ id: peer.id, why })
    else usable.push({ peer, weight: peer.reputation * room })
  }
  if (usable.length < missing.length) {
    throw new PlacementError(peerShortfall({ packId, k, m, shardBytes, missing, usable: usable.length, unusable }))
  }

  const sites = new Map<string, SiteSummary>()
  const site = (name: string): SiteSummary => {
    let s = sites.get(name)
    if (s === undefined) { s = { name, heldBy: [], peers: 0 }; sites.set(name, s) }
    return s
  }
  for (const [, id] of [...fixed].sort((a, b) => a[0] - b[0])) site(byId.get(id)!.site).heldBy.push(id)
  for (const u of usable) site(u.peer.site).peers++
  const summaries = [...sites.values()].sort((a, b) => compareIds(a.name, b.name))
  const cap = smallestSiteCap(summaries.map(s => ({ held: s.heldBy.length, peers: s.peers })), missing.length)!

  let reason: string | undefined
  if (cap > m) {
    const deadSites = [...new Set(sorted.map(p => p.site))].filter(name => !sites.has(name)).sort(compareIds)
    reason = siteShortfall({ packId, k, m, need: missing.length, cap, sites: summaries, deadSites })
    if (policy.onShortfall === 'fail') throw new PlacementError(reason)
  }

  const chosen = fairChoice(packId, usable, missing.length, cap, sites) ?? rankWalk(packId, usable, missing.length, cap, sites)

  // Which index: best (index, peer) pair first.
  const pairs = missing.flatMap(index => chosen.map(id => ({ index, id, score: indexScore(packId, index, id) })))
  pairs.sort((a, b) => b.score - a.score || compareIds(a.id, b.id) || a.index - b.index)
  const peers: string[] = new Array(n)
  for (const [index, id] of fixed) peers[index] = id
  const placed = new Set<string>()
  for (const { index, id } of pairs) {
    if (peers[index] !== undefined || placed.has(id)) continue
    peers[index] = id
    placed.add(id)
  }
  return reason === undefined ? { peers, spread: 'full' } : { peers, spread: 'reduced', reason }
}

/**
 * Which peers, each with exactly its fair share as its chance (fair-shares.ts: in proportion to weight,
 * at most one shard per peer, at most `cap` shards per site counting those it holds): systematic sampling
 * over the usable peers laid out site by site, the sites and the peers within each in an order drawn from
 * the pack id, the start too. Undefined in the rare case rounding breaks a rule (rankWalk then decides).
 */
function fairChoice (packId: string, usable: readonly Usable[], need: number, cap: number, sites: ReadonlyMap<string, SiteSummary>): string[] | undefined {
  const held = (site: string): number => sites.get(site)?.heldBy.length ?? 0
  const shares = fairShares(usable.map(u => ({ id: u.peer.id, site: u.peer.site, weight: u.weight })), need, site => cap - held(site))
  if (shares === undefined) return undefined
  const siteKey = new Map<string, number>()
  const keyOf = (site: string): number => {
    let k = siteKey.get(site)
    if (k === undefined) { k = hashToUnit(['site', packId, site]); siteKey.set(site, k) }
    return k
  }
  const order = usable.map(u => ({ id: u.peer.id, site: u.peer.site, siteRank: keyOf(u.peer.site), peerRank: hashToUnit(['place', packId, u.peer.id]) }))
  order.sort((a, b) => a.siteRank - b.siteRank || compareIds(a.site, b.site) || a.peerRank - b.peerRank || compareIds(a.id, b.id))
  const picked = systematicSample(order.map(o => shares.get(o.id) ?? 0), need, hashToUnit(['start', packId])).map(i => order[i])
  if (picked.length !== need) return undefined
  const load = new Map<string, number>()
  for (const p of picked) {
    const l = (load.get(p.site) ?? held(p.site)) + 1
    if (l > cap) return undefined
    load.set(p.site, l)
  }
  return picked.map(p => p.id)
}

/** Which peers, by weighted rendezvous rank, skipping sites at the limit (always completes). */
function rankWalk (packId: string, usable: readonly Usable[], need: number, cap: number, sites: ReadonlyMap<string, SiteSummary>): string[] {
  const ranked = usable.map(u => ({ peer: u.peer, score: weightedScore(packId, u.peer.id, u.weight) }))
  ranked.sort((a, b) => b.score - a.score || compareIds(a.peer.id, b.peer.id))
  const load = new Map([...sites.values()].map(s => [s.name, s.heldBy.length]))
  const chosen: string[] = []
  for (const { peer } of ranked) {
    if (chosen.length === need) break
    const l = load.get(peer.site)!
    if (l < cap) { chosen.push(peer.id); load.set(peer.site, l + 1) }
  }
  return chosen
}
