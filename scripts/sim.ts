import { parseArgs } from 'node:util'
import { SCENARIOS, scenario, SimNetwork, type ScenarioName, type SimReport } from '../src/sim/index.js'

/**
 * npm run sim [-- --nodes 1000 --days 30 --seed 1 --scenario churn]: runs the scale study's scenarios and
 * prints one table per scenario (figures in docs/ARCHITECTURE.md, "At scale").
 */
const { values } = parseArgs({ options: { nodes: { type: 'string' }, days: { type: 'string' }, seed: { type: 'string' }, scenario: { type: 'string', multiple: true }, packs: { type: 'string' }, json: { type: 'boolean' }, grace: { type: 'string' }, urgent: { type: 'string' }, threshold: { type: 'string' }, k: { type: 'string' }, m: { type: 'string' } } })
const nodes = Number(values.nodes ?? 1000)
const days = Number(values.days ?? 30)
const seed = Number(values.seed ?? 1)
const names = (values.scenario ?? SCENARIOS) as ScenarioName[]
const KiB = 1024

function table (name: string, r: SimReport, seconds: number): string {
  const rows: Array<[string, string]> = [
    ['network', `${r.params.nodes} nodes, ${r.params.groups} groups, ${r.params.offices} offices (trusted peers per node: min ${r.params.peersPerNode.min}, median ${r.params.peersPerNode.p50}, max ${r.params.peersPerNode.max}); ${r.params.days} days; ${r.params.packs} packs (${r.params.k}+${r.params.m}, ${r.params.shards} shards)`],
    ['snapshots lost', `${r.snapshotsLost} (packs lost ${r.packsLost}; ${r.packsVerified} decoded byte for byte at the end; of owners that left: ${r.packsOfDepartedOwnersLost} below k, not counted)`],
    ['backups', `${r.params.nodes - r.ownersWithoutBackup} owners backed up (${r.backupsDeferred} tries deferred: too few peers online together); ${r.ownersWithoutBackup} never could`],
    ['packs at the end', Object.entries(r.healthAtEnd).sort().map(([h, n]) => `${h}: ${n}`).join(', ')],
    ['repair', `${r.repair.packs} packs, ${r.repair.shards} shards, ${(r.repair.bytesUp / KiB).toFixed(0)} KiB sent, ${(r.repair.bytesDown / KiB).toFixed(0)} KiB read; truly lost ${(r.repair.trulyLostBytes / KiB).toFixed(0)} KiB; ratio ${r.repair.ratio.toFixed(2)}; stale copies deleted ${r.repair.staleDeleted}`],
    ['audits', `${r.audits.challenges} challenges, ${r.audits.failed} failed; per host per day p50 ${(r.audits.bytesPerHostPerDay.p50 / KiB).toFixed(1)} KiB, p95 ${(r.audits.bytesPerHostPerDay.p95 / KiB).toFixed(1)} KiB, max ${(r.audits.bytesPerHostPerDay.max / KiB).toFixed(1)} KiB`],
    ['cheaters', r.cheaters.count === 0 ? '-' : `${r.cheaters.detected} of ${r.cheaters.count} detected; median ${r.cheaters.medianDetectionPeriods.toFixed(2)}, max ${r.cheaters.maxDetectionPeriods.toFixed(2)} audit periods`],
    ['honest hosts 90%+ up', `${r.honest90.hosts}: ${r.honest90.penalised} penalised, ${r.honest90.warnedPairs} warned (owner, host) pairs`],
    ['placement vs fair share', `${r.placement.hosts} hosts; deviation p50 ${(100 * r.placement.deviation.p50).toFixed(1)}%, p95 ${(100 * r.placement.deviation.p95).toFixed(1)}%, max ${(100 * r.placement.deviation.max).toFixed(1)}%; hosts at a site of their own (${r.placementHome.hosts}): p50 ${(100 * r.placementHome.deviation.p50).toFixed(1)}%, p95 ${(100 * r.placementHome.deviation.p95).toFixed(1)}%; office hosts on average ${(100 * r.officeMeanDeviation).toFixed(1)}% (site limit)`],
    ['worst day', (() => { const w = [...r.timeline].sort((a, b) => a.fullHealth - b.fullHealth)[0]; return w == null ? '-' : `day ${w.day}: ${w.online} online, full ${w.fullHealth}, degraded ${w.degraded}, below k ${w.belowK}` })()],
    ['run time', `${seconds.toFixed(1)} s`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  return [`== ${name} (seed ${seed})`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n')
}

const reports: Record<string, SimReport> = {}
for (const name of names) {
  const t0 = performance.now()
  const params = scenario(name, { nodes, seed, days, ...(values.packs != null ? { packsPerOwner: Number(values.packs) } : {}) })
  // the daemon's maintenance settings may be tried other than the defaults (hours; threshold in shards)
  if (values.grace != null) params.graceMs = Number(values.grace) * 3600_000
  if (values.urgent != null) params.urgentGraceMs = Number(values.urgent) === 0 ? undefined : Number(values.urgent) * 3600_000
  if (values.threshold != null) params.repairThreshold = Number(values.threshold)
  if (values.k != null) params.k = Number(values.k)
  if (values.m != null) params.m = Number(values.m)
  const r = await new SimNetwork(params).run()
  reports[name] = r
  if (values.json !== true) console.log(table(name, r, (performance.now() - t0) / 1000) + '\n')
}
if (values.json === true) console.log(JSON.stringify(reports, null, 2))
