import type { SeededRandom } from './seeded-random.js'

export const HOUR = 3600_000
export const DAY = 24 * HOUR

/** One simulated node: an owner that backs up and a host that keeps its peers' shards. */
export interface SimNode {
  index: number
  id: string
  /** Failure domain: an office site, or the node's own home. */
  site: string
  /** The office it belongs to, if any. */
  office?: number
  /** Fraction of each day it is online (0.6 .. 1). */
  uptime: number
  /** Hour of the day its online window starts. */
  startHour: number
  /** Indices of the groups it belongs to. */
  groups: number[]
  /** Its trusted peers (every other member of its groups), by index. */
  peers: number[]
}

export interface PopulationParams {
  nodes: number
  /** Members per group, inclusive. */
  groupSize: [number, number]
  /** Share of the nodes that join a second group (and of those, a third). */
  overlap: number
  /** Share of the nodes that belong to offices; each office has 3 to 6 sites. */
  officeShare: number
  /** Daily uptime range. */
  uptime: [number, number]
}

export const DEFAULT_POPULATION: PopulationParams = { nodes: 1000, groupSize: [5, 30], overlap: 0.3, officeShare: 0.1, uptime: [0.6, 1] }

/**
 * Builds the network of friends: nodes in groups of 5 to 30 (every node in one; a share in a second and
 * a third, so groups overlap), a tenth of the nodes in offices of 3 to 6 sites (an office is one group, its
 * nodes spread over its sites), the others each at a home of their own. Each node is online a share of the
 * day (uptime), in one daily window starting at its own hour.
 */
export function buildPopulation (p: PopulationParams, rnd: SeededRandom): { nodes: SimNode[], groups: number[][] } {
  const nodes: SimNode[] = []
  for (let i = 0; i < p.nodes; i++) {
    const uptime = rnd.next() < 0.25 ? 1 : p.uptime[0] + rnd.next() * (p.uptime[1] - p.uptime[0])
    nodes.push({ index: i, id: `n${String(i).padStart(4, '0')}`, site: `home-${i}`, uptime, startHour: rnd.below(24), groups: [], peers: [] })
  }
  const groups: number[][] = []
  // offices first: each a group whose members stand at 3 to 6 sites
  const officeCount = Math.round(p.nodes * p.officeShare)
  const order = rnd.shuffle(nodes.map(n => n.index))
  let taken = 0
  let office = 0
  while (taken < officeCount) {
    const size = Math.min(officeCount - taken, rnd.between(Math.max(p.groupSize[0], 9), p.groupSize[1]))
    if (size < 3) break
    const members = order.slice(taken, taken + size)
    taken += size
    const sites = Math.min(size, rnd.between(3, 6))
    members.forEach((m, j) => { nodes[m].office = office; nodes[m].site = `office-${office}-site-${j % sites}` })
    groups.push(members)
    office++
  }
  // friend groups over the rest, then a share of all nodes joins one or two more groups
  const rest = order.slice(taken)
  for (let i = 0; i < rest.length;) {
    let size = rnd.between(p.groupSize[0], p.groupSize[1])
    if (rest.length - i - size < p.groupSize[0]) size = rest.length - i
    groups.push(rest.slice(i, i + size))
    i += size
  }
  const firstGroups = groups.length
  for (const n of nodes) {
    if (rnd.next() >= p.overlap) continue
    const extra = rnd.next() < 0.3 ? 2 : 1
    for (let e = 0; e < extra; e++) {
      const g = rnd.below(firstGroups)
      if (!groups[g].includes(n.index)) groups[g].push(n.index)
    }
  }
  groups.forEach((members, g) => { for (const m of members) nodes[m].groups.push(g) })
  for (const n of nodes) {
    const peers = new Set<number>()
    for (const g of n.groups) for (const m of groups[g]) if (m !== n.index) peers.add(m)
    n.peers = [...peers].sort((a, b) => a - b)
  }
  return { nodes, groups }
}

/** Whether the node's daily window covers `t` (ms since the simulation started). */
export function inDailyWindow (n: SimNode, t: number): boolean {
  if (n.uptime >= 1) return true
  const hour = (t % DAY) / HOUR
  const offset = (hour - n.startHour + 24) % 24
  return offset < 24 * n.uptime
}
