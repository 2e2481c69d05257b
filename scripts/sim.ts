import { parseArgs } from 'node:util'
import { DEFAULT_POPULATION, EVENTS_START_DAY, placementStudy, SCENARIOS, scenario, SimNetwork, type PlacementStudyReport, type ScenarioName, type SimReport } from '../src/sim/index.js'

/**
 * npm run sim [-- --nodes 1000 --days 30 --seed 1 --scenario churn --start-day 8] (--start-day: when churn and
 * the site outage begin, after a week by default, when owners know their hosts' rhythm; --no-rhythm: owners that do not
 * learn their hosts' rhythm, only the fixed graces, as before it was built): runs the scale study's scenarios and
 * prints one table per scenario, then the placement study (`--scenario placement`, `--placement-packs`
 * packs per owner); figures in docs/ARCHITECTURE.md, "At scale".
 */
const { values } = parseArgs({ options: { nodes: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' }, scenario: { type: 'string', multiple: true }, packs: { type: 'string' }, json: { type: 'boolean' }, grace: { type: 'string' }, urgent: { type: 'string' }, threshold: { type: 'string' }, 'no-rhythm': { type: 'boolean' }, 'start-day': { type: 'string' }, k: { type: 'string' }, m: { type: 'string' }, 'placement-packs': { type: 'string' } } })
const nodes = Number(values.nodes ?? 1000)
const days = Number(values.days ?? 30)
const seed = Number(values.seed ?? 1)
const startDay = Number(values['start-day'] ?? EVENTS_START_DAY)
const names = (values.scenario ?? [...SCENARIOS, 'placement']) as Array<ScenarioName | 'placement'>
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`
const KiB = 1024

/** Why each pack was lost, counted: its owner away itself, or m + 1 of its hosts gone within some hours. */
function whyLost (r: SimReport): string {
  const n = r.params.k + r.params.m
  const tally = new Map<string, number>()
  for (const l of r.lostPacks) {
    const damaged = l.damagedByHostsHere > 0 ? `; ${l.damagedByHostsHere} lost or damaged by hosts still here` : ''
    const why = l.ownerAway
      ? `owner away two weeks (${l.hostsGone} of its ${n} hosts left${damaged})`
      : l.withinHours !== null
        ? `${r.params.m + 1} of its ${n} hosts left within ${l.withinHours.toFixed(l.withinHours < 10 ? 1 : 0)} h (${l.hostsGone} in all${damaged})`
        : `${l.hostsGone} of its ${n} hosts left${damaged}`
    tally.set(why, (tally.get(why) ?? 0) + 1)
  }
  return tally.size === 0 ? '-' : [...tally].map(([why, count]) => `${count} x ${why}`).join('; ')
}

function table (name: string, r: SimReport, seconds: number): string {
  const rows: Array<[string, string]> = [
    ['network', `${r.params.nodes} nodes, ${r.params.groups} groups, ${r.params.offices} offices (trusted peers per node: min ${r.params.peersPerNode.min}, median ${r.params.peersPerNode.p50}, max ${r.params.peersPerNode.max}); ${r.params.days} days; ${r.params.packs} packs (${r.params.k}+${r.params.m}, ${r.params.shards} shards)`],
    ['snapshots lost', `${r.snapshotsLost} (packs lost ${r.packsLost}, of them ${r.packsLostOwnerAway} of owners away two weeks themselves; ${r.packsVerified} decoded byte for byte at the end; of owners that left: ${r.packsOfDepartedOwnersLost} below k, not counted)`],
    ['packs lost, why', whyLost(r)],
    ['backups', `${r.params.nodes - r.ownersWithoutBackup} owners backed up (${r.backupsDeferred} tries deferred: too few peers online together); ${r.ownersWithoutBackup} never could`],
    ['packs at the end', Object.entries(r.healthAtEnd).sort().map(([h, n]) => `${h}: ${n}`).join(', ')],
    ['repair', `${r.repair.packs} packs, ${r.repair.shards} shards, ${(r.repair.bytesUp / KiB).toFixed(0)} KiB sent, ${(r.repair.bytesDown / KiB).toFixed(0)} KiB read; truly lost ${(r.repair.trulyLostBytes / KiB).toFixed(0)} KiB; ratio ${r.repair.ratio.toFixed(2)}; stale copies deleted ${r.repair.staleDeleted}`],
    ['shards regenerated', Object.entries(r.repair.shardsByCause).map(([cause, n]) => `${cause} ${n}`).join(', ')],
    ['audits', `${r.audits.challenges} challenges, ${r.audits.failed} failed; per host per day p50 ${(r.audits.bytesPerHostPerDay.p50 / KiB).toFixed(1)} KiB, p95 ${(r.audits.bytesPerHostPerDay.p95 / KiB).toFixed(1)} KiB, max ${(r.audits.bytesPerHostPerDay.max / KiB).toFixed(1)} KiB`],
    ['cheaters', r.cheaters.count === 0 ? '-' : `${r.cheaters.detected} of ${r.cheaters.count} detected; median ${r.cheaters.medianDetectionPeriods.toFixed(2)}, max ${r.cheaters.maxDetectionPeriods.toFixed(2)} audit periods`],
    ['honest hosts 90%+ up', `${r.honest90.hosts}: ${r.honest90.penalised} penalised, ${r.honest90.warnedPairs} warned (owner, host) pairs`],
    ['worst day', (() => { const w = [...r.timeline].sort((a, b) => a.fullHealth - b.fullHealth)[0]; return w == null ? '-' : `day ${w.day}: ${w.online} online, full ${w.fullHealth}, degraded ${w.degraded}, below k ${w.belowK}` })()],
    ['run time', `${seconds.toFixed(1)} s`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  const events = name.startsWith('churn') || name === 'site-outage' ? `, from day ${startDay}` : ''
  return [`== ${name} (seed ${seed}${events})`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n')
}

function placementTable (r: PlacementStudyReport, packsPerOwner: number, seconds: number): string {
  const dev = (d: PlacementStudyReport['all']): string => `${d.hosts} hosts: p50 ${pct(d.p50)}, p95 ${pct(d.p95)}, max ${pct(d.max)}`
  const rows: Array<[string, string]> = [
    ['network', `${nodes} nodes; ${packsPerOwner} packs per owner placed at ${r.k}+${r.m} (${r.packs} packs, ${r.shards} shards)`],
    ['stored vs fair share', dev(r.all)],
    ['hosts at a home', dev(r.home)],
    ['hosts at an office site', `${dev(r.office)}; on average ${r.officeMean >= 0 ? '+' : ''}${pct(r.officeMean)}`],
    ['run time', `${seconds.toFixed(1)} s`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return [`== placement (seed ${seed})`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n')
}

const reports: Record<string, SimReport | PlacementStudyReport> = {}
for (const name of names) {
  const t0 = performance.now()
  if (name === 'placement') {
    const packsPerOwner = Number(values['placement-packs'] ?? 256)
    const r = placementStudy({ seed, population: { ...DEFAULT_POPULATION, nodes }, packsPerOwner, k: Number(values.k ?? 4), m: Number(values.m ?? 3), shardBytes: 1024, quotaShards: [2 * packsPerOwner, 6 * packsPerOwner] })
    reports[name] = r
    if (values.json !== true) console.log(placementTable(r, packsPerOwner, (performance.now() - t0) / 1000) + '\n')
    continue
  }
  const params = scenario(name, { nodes, seed, days, ...(values.packs != null ? { packsPerOwner: Number(values.packs) } : {}), startDay })
  // the daemon's maintenance settings may be tried other than the defaults (hours; threshold in shards)
  if (values.grace != null) params.graceMs = Number(values.grace) * 3600_000
  if (values.urgent != null) params.urgentGraceMs = Number(values.urgent) === 0 ? undefined : Number(values.urgent) * 3600_000
  if (values.threshold != null) params.repairThreshold = Number(values.threshold)
  if (values['no-rhythm'] === true) params.rhythm = false
  if (values.k != null) params.k = Number(values.k)
  if (values.m != null) params.m = Number(values.m)
  const r = await new SimNetwork(params).run()
  reports[name] = r
  if (values.json !== true) console.log(table(name, r, (performance.now() - t0) / 1000) + '\n')
}
if (values.json === true) console.log(JSON.stringify(reports, null, 2))
