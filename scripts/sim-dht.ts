import '../src/polyfill.js'
import { parseArgs } from 'node:util'
import { dhtStudy } from './lib/dht-study.js'

/**
 * npm run sim:dht [-- --nodes 1000 --latency 50 --moves 100 --idle 330 --seed 1 --json]: the scale study's
 * discovery through the real kad-dht (scripts/lib/dht-study.ts): the population of `npm run sim` as real
 * libp2p nodes in one process, over an in-memory transport that delays every buffer by --latency ms; the
 * DHT's idle traffic per node per day (the window should span kad-dht's 5-minute refresh), and how long a
 * peer that moved takes to be found again (findPeer and, side by side, a question to the connected peers
 * (locate), as presence does; then a dial to the address found, tried again after presence's backoff when
 * it fails): its hops, the
 * time they make at --rtt ms a round trip, and the wall-clock time measured here.
 */
const { values } = parseArgs({ options: { nodes: { type: 'string' }, latency: { type: 'string' }, rtt: { type: 'string' }, moves: { type: 'string' }, idle: { type: 'string' }, seed: { type: 'string' }, json: { type: 'boolean' } } })
const params = {
  nodes: Number(values.nodes ?? 1000),
  latencyMs: Number(values.latency ?? 50),
  rttMs: Number(values.rtt ?? 100),
  moves: Number(values.moves ?? 100),
  idleSeconds: Number(values.idle ?? 330),
  seed: Number(values.seed ?? 1)
}
const r = await dhtStudy(params, line => { if (values.json !== true) console.error(line) })
if (values.json === true) {
  console.log(JSON.stringify(r, null, 2))
} else {
  const KiB = 1024
  const rows: Array<[string, string]> = [
    ['network', `${r.nodes} libp2p nodes in one process, ${r.connections} connections (each node to its trusted peers), ${params.latencyMs} ms on every buffer; set up in ${r.setupSeconds.toFixed(0)} s; ${r.rssMiB.toFixed(0)} MiB resident`],
    ['moved peer found', `${r.lookups.found} of ${r.lookups.count} (the DHT knew ${r.lookups.foundByDht}, a connected peer ${r.lookups.foundByLocate}; of those not found, ${r.lookups.notFoundNoneConnectedKnew} where no connected peer had the new address); hops median ${r.lookups.hops.p50}, p99 ${r.lookups.hops.p99}, max ${r.lookups.hops.max}${r.lookups.failures.length > 0 ? `; failures: ${r.lookups.failures.join('; ')}` : ''}`],
    ['dials after a lookup', r.lookups.redialled.count === 0 ? `every first dial to the address found connected (of the ${r.lookups.found} found)` : `${r.lookups.redialled.count} first dial(s) failed and a later one connected (presence dials again after its backoff; in the second model, charged at what the failed dial took here plus the wait): ${r.lookups.redialled.errors.join('; ')}`],
    ['time to find it', `model at ${params.rttMs} ms a round trip (hops, and the dial): median ${(r.lookups.lookupModelMs.p50 / 1000).toFixed(2)} s, p99 ${(r.lookups.lookupModelMs.p99 / 1000).toFixed(2)} s; with the failed first dials charged at what they took here and presence's wait: median ${(r.lookups.modelMs.p50 / 1000).toFixed(2)} s, p99 ${(r.lookups.modelMs.p99 / 1000).toFixed(2)} s; measured here (${params.latencyMs} ms on every buffer): median ${(r.lookups.p50Ms / 1000).toFixed(2)} s, p99 ${(r.lookups.p99Ms / 1000).toFixed(2)} s, max ${(r.lookups.maxMs / 1000).toFixed(2)} s`],
    ['DHT traffic while idle', `${(r.idleBytesPerNodePerDay / KiB / KiB).toFixed(1)} MiB per node per day (measured over ${r.idleSeconds} s: self queries and table refreshes, with their noise and yamux framing)`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  console.log([`== discovery through the DHT (seed ${params.seed})`, ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join('\n'))
}
process.exit(0)
