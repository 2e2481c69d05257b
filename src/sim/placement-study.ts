import { placePacks, type PlacementCandidate } from '../placement/index.js'
import { fairShares } from '../placement/fair-shares.js'
import { smallestSiteCap } from '../placement/site-limit.js'
import { buildPopulation, type PopulationParams } from './population.js'
import { seededRandom } from './seeded-random.js'

export interface PlacementStudyParams {
  seed: number
  population: PopulationParams
  /** Packs each owner places (a real owner places one per pack size of new data: thousands). */
  packsPerOwner: number
  k: number
  m: number
  shardBytes: number
  /** What a host grants each peer, in shards (a range, drawn per pair). */
  quotaShards: [number, number]
}

export interface Deviation { hosts: number, p50: number, p95: number, max: number }

export interface PlacementStudyReport {
  k: number
  m: number
  packs: number
  shards: number
  /** |stored - fair share| / fair share, over every host, over hosts at a site of their own, over office hosts. */
  all: Deviation
  home: Deviation
  office: Deviation
  /** Signed mean over office hosts (what the site limit moves away from them). */
  officeMean: number
}

/**
 * Placement against the fair share, at network scale: every owner places its packs with the product's
 * placePacks over its trusted peers (all online, reputation 1, room = quota granted - used, taken off
 * as shards land), and each host's stored shards are compared with its fair share (fair-share.ts: in
 * proportion to room, under the rules of one shard per peer per pack and the site limit), summed over
 * every placement of every owner.
 */
export function placementStudy (params: PlacementStudyParams): PlacementStudyReport {
  const rnd = seededRandom(params.seed)
  const { nodes } = buildPopulation(params.population, rnd.fork())
  const r = rnd.fork()
  const { k, m, shardBytes } = params
  const n = k + m
  const expected = nodes.map(() => 0)
  const actual = nodes.map(() => 0)
  let packs = 0
  for (const owner of nodes) {
    const candidates: PlacementCandidate[] = owner.peers.map(h => ({
      id: String(h),
      site: nodes[h].site,
      freeBytes: r.between(params.quotaShards[0], params.quotaShards[1]) * shardBytes,
      reputation: 1,
      online: true
    }))
    for (let p = 0; p < params.packsPerOwner; p++) {
      const usable = candidates.filter(c => c.freeBytes >= shardBytes)
      const bySite = new Map<string, number>()
      for (const c of usable) bySite.set(c.site, (bySite.get(c.site) ?? 0) + 1)
      const cap = smallestSiteCap([...bySite.values()].map(peers => ({ held: 0, peers })), n)
      if (cap == null) break
      const shares = fairShares(usable.map(c => ({ id: c.id, site: c.site, weight: c.reputation * c.freeBytes })), n, () => cap)!
      for (const [id, share] of shares) expected[Number(id)] += share
      const packId = `${owner.id}-${p}`
      const [placed] = placePacks([{ packId, k, m, shardBytes }], candidates, { onShortfall: 'reduced' })
      for (const id of placed.peers) {
        actual[Number(id)]++
        candidates.find(c => c.id === id)!.freeBytes -= shardBytes
      }
      packs++
    }
  }
  const all: number[] = []
  const home: number[] = []
  const office: number[] = []
  const signedOffice: number[] = []
  nodes.forEach(node => {
    const e = expected[node.index]
    if (e < 1) return
    const d = (actual[node.index] - e) / e
    all.push(Math.abs(d))
    if (node.office == null) home.push(Math.abs(d))
    else { office.push(Math.abs(d)); signedOffice.push(d) }
  })
  return {
    k,
    m,
    packs,
    shards: packs * n,
    all: deviation(all),
    home: deviation(home),
    office: deviation(office),
    officeMean: signedOffice.length === 0 ? 0 : signedOffice.reduce((a, b) => a + b, 0) / signedOffice.length
  }
}

function deviation (values: number[]): Deviation {
  const s = [...values].sort((a, b) => a - b)
  const q = (p: number): number => s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(p * s.length))]
  return { hosts: s.length, p50: q(0.5), p95: q(0.95), max: s.at(-1) ?? 0 }
}
