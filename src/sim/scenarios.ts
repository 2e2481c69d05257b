import { DEFAULT_POPULATION } from './population.js'
import { DEFAULT_SIM, type SimParams } from './sim-network.js'

/** The four scenarios of the scale study, at a given size (nodes) and seed. */
export type ScenarioName = 'baseline' | 'churn' | 'churn-4+3' | 'cheats' | 'site-outage'
export const SCENARIOS: readonly ScenarioName[] = ['baseline', 'churn', 'churn-4+3', 'cheats', 'site-outage']

/**
 * The day churn and the site outage begin: once the network has run a week, as a real one has (each owner
 * knows its hosts' rhythm after seeing them on 7 days, src/node/rhythm.ts). `startDay` moves it: from
 * day 3 (a network whose nodes all joined days ago) only the fixed graces can act on the first half of
 * the departures; its figures are in docs/ARCHITECTURE.md, At scale.
 */
export const EVENTS_START_DAY = 8

export function scenario (name: ScenarioName, options: { nodes: number, seed: number, days?: number, packsPerOwner?: number, startDay?: number }): SimParams {
  const startDay = options.startDay ?? EVENTS_START_DAY
  const CHURN = { leaveShare: 0.1, leaveOverDays: 7, awayShare: 0.05, awayDays: 14, startDay }
  const base: SimParams = {
    ...DEFAULT_SIM,
    seed: options.seed,
    days: options.days ?? DEFAULT_SIM.days,
    packsPerOwner: options.packsPerOwner ?? DEFAULT_SIM.packsPerOwner,
    population: { ...DEFAULT_POPULATION, nodes: options.nodes }
  }
  switch (name) {
    case 'baseline': return base
    // 10% of the hosts leave for good over a week; 5% are away two weeks and come back
    case 'churn': return { ...base, churn: CHURN }
    // the same with one more parity shard (holdfast init --parity-shards 3)
    case 'churn-4+3': return { ...base, k: 4, m: 3, churn: CHURN }
    // 2% drop half of what they keep; 1% answer audits from partial data
    case 'cheats': return { ...base, cheats: { dropShare: 0.02, partialShare: 0.01, startDay: 5 } }
    // one office site offline for 3 days
    case 'site-outage': return { ...base, siteOutage: { startDay, days: 3 } }
  }
}
