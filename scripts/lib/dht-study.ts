import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify, type Identify } from '@libp2p/identify'
import { logger } from '@libp2p/logger'
import { ping } from '@libp2p/ping'
import type { IdentifyResult, Libp2p, PeerId, PeerInfo, PrivateKey } from '@libp2p/interface'
import { kadDHT, type KadDHT } from '@libp2p/kad-dht'
import { memory } from '@libp2p/memory'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'
import { DHT_PROTOCOL } from '../../src/node/libp2p-node.js'
import { TrustGate, trustGater } from '../../src/node/gater.js'
import { LocateService } from '../../src/node/locate-service.js'
import { withoutPeerId, withPeerId } from '../../src/node/addresses.js'
import { backoffDelay, DEFAULT_DIAL_TIMEOUT_MS } from '../../src/node/presence.js'
import { DEFAULT_NODE_CONFIG } from '../../src/config/node-config.js'
import { buildPopulation, DEFAULT_POPULATION, seededRandom } from '../../src/sim/index.js'
import { inBatches } from './in-batches.js'

/** How long the study gives each lookup and its dials, wall clock (a thousand nodes share one event loop here). */
const STUDY_DEADLINE_MS = 120_000

export interface DhtStudyParams {
  nodes: number
  seed: number
  /** Delay of each buffer on the in-memory wire, ms (one way). */
  latencyMs: number
  /** The round trip of the model that turns a lookup's hops into time (ms). */
  rttMs: number
  /** Moved peers looked up. */
  moves: number
  /** Idle window measured for the traffic, seconds (kad-dht refreshes every 5 minutes). */
  idleSeconds: number
}

export interface DhtStudyReport {
  nodes: number
  connections: number
  setupSeconds: number
  /** failures: the first few errors of lookups that failed */
  lookups: {
    count: number
    found: number
    /** lookups where the DHT found the new address, and where a connected peer knew it (locate; both may) */
    foundByDht: number
    foundByLocate: number
    /** of those not found, the lookups where no peer the searcher was connected to had the new address (the moved peer reconnected to none of them) */
    notFoundNoneConnectedKnew: number
    /** Answers in turn on the quickest way that found the peer: the DHT path that found it, or 1 for locate (Infinity: not found) */
    hops: { p50: number, p99: number, max: number }
    /**
     * Simulated time: (2 x hops + 4) round trips of rttMs, a CPU-independent figure, as if every first dial
     * to the address found connected
     */
    lookupModelMs: { p50: number, p99: number, max: number }
    /**
     * The same, where the first dial failed plus what the failed dials took here (this machine's load
     * counts in it: a thousand nodes share one event loop) and presence's wait before each later dial
     */
    modelMs: { p50: number, p99: number, max: number }
    /** Lookups whose first dial failed and a later one connected (presence tries again after its backoff); the first few first-dial errors */
    redialled: { count: number, errors: string[] }
    /** Wall-clock time in this process, with latencyMs on every buffer (and this machine's load) */
    p50Ms: number
    p99Ms: number
    maxMs: number
    failures: string[]
  }
  /** Bytes on the wire per node per day while idle (DHT upkeep: self queries, table refreshes; noise and yamux framing included). */
  idleBytesPerNodePerDay: number
  idleSeconds: number
  rssMiB: number
}

/**
 * The real kad-dht of libp2p 3 at network scale, in one process: every node of the scale study's population
 * (the same groups, each node trusting the members of its groups) is a libp2p node with the product's
 * DHT protocol, trust gate and peer-info mapper (only trusted peers talk to it or are passed on), over an
 * in-memory transport with a delay on every buffer. Each node connects to its trusted peers, as presence
 * does. Then: the bytes of an idle window (DHT upkeep), and `moves` peers that move (a new address, back
 * with their other peers) while one peer that trusts them looks them up through the DHT (findPeer, then a
 * dial to the address found), timed. No yamux keep-alive and no connection monitor: what is measured is
 * the DHT's own traffic.
 */
export async function dhtStudy (params: DhtStudyParams, progress: (line: string) => void = () => {}): Promise<DhtStudyReport> {
  const counter = await byteCounter()
  const rnd = seededRandom(params.seed)
  const { nodes: pop } = buildPopulation({ ...DEFAULT_POPULATION, nodes: params.nodes }, rnd.fork())
  const keys: PrivateKey[] = await Promise.all(pop.map(async () => await generateKeyPair('Ed25519')))
  const ids: PeerId[] = keys.map(k => peerIdFromPrivateKey(k))
  const trusted = pop.map(n => new Set(n.peers.map(p => ids[p].toString())))
  const t0 = performance.now()
  const locators: LocateService[] = []
  const make = async (i: number, generation: number): Promise<Libp2p<{ dht: KadDHT, identify: Identify }>> => {
    const gate = new TrustGate({ trust: { isTrusted: (peer: PeerId | string) => trusted[i].has(String(peer)) } })
    const node = await createLibp2p({
      privateKey: keys[i],
      addresses: { listen: [`/memory/hf-${params.seed}-${i}-${generation}`] },
      transports: [memory({ latency: params.latencyMs })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux({ enableKeepAlive: false })],
      connectionGater: trustGater(gate),
      connectionMonitor: { enabled: false },
      services: {
        identify: identify(),
        // kad-dht pings the oldest peer of a full bucket before replacing it
        ping: ping(),
        dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: (peer: PeerInfo): PeerInfo => gate.isMember(peer.id) ? peer : { ...peer, multiaddrs: [] } })
      }
    })
    // the product's fallback when the DHT does not find a peer: ask the connected trusted peers
    await locators[i]?.stop()
    locators[i] = new LocateService({ node, gate, timeoutMs: 10_000, identify: node.services.identify })
    await locators[i].start()
    return node
  }
  const nodes = await inBatches(pop.map((_, i) => i), 50, async i => await make(i, 0))
  // each node's address now: a peer that moved earlier is at its new one (as the moved peer's trust list would say)
  const generationOf: number[] = pop.map(() => 0)
  const addrOf = (i: number): ReturnType<typeof multiaddr> => multiaddr(`/memory/hf-${params.seed}-${i}-${generationOf[i]}/p2p/${ids[i].toString()}`)
  const pairs: Array<[number, number]> = []
  for (const n of pop) for (const p of n.peers) if (p > n.index) pairs.push([n.index, p])
  let done = 0
  await inBatches(pairs, 100, async ([a, b]) => {
    await nodes[a].dial(addrOf(b), { signal: AbortSignal.timeout(60_000) }).catch(() => {})
    if (++done % 2000 === 0) progress(`${done} of ${pairs.length} connections`)
  })
  // identify tells each side the other speaks the DHT: let the routing tables fill
  await new Promise(resolve => setTimeout(resolve, 5_000))
  const setupSeconds = (performance.now() - t0) / 1000
  progress(`${params.nodes} nodes, ${pairs.length} connections in ${setupSeconds.toFixed(0)} s; idle window of ${params.idleSeconds} s`)

  counter.reset()
  await new Promise(resolve => setTimeout(resolve, params.idleSeconds * 1000))
  const idleBytes = counter.bytes()

  // moves: X gets a new address and reconnects to its other peers; S, which trusts X, finds it through the DHT
  const times: number[] = []
  const hopCounts: number[] = []
  const modelled: number[] = []
  // presence's jitter on its backoff (its own source: the moves and searchers stay those of the seed)
  const jitter = seededRandom(params.seed + 1)
  let redialled = 0
  const redialErrors: string[] = []
  // the model: each hop a request and its answer on a new stream (2 round trips with the protocol's
  // negotiation), then a dial to the address found (4: connection, noise, muxer)
  const modelMs = (h: number): number => (2 * h + 4) * params.rttMs
  let found = 0
  let foundByDht = 0
  let foundByLocate = 0
  let noneKnew = 0
  const failures: string[] = []
  const order = rnd.shuffle(pop.map(n => n.index)).filter(i => pop[i].peers.length >= 2)
  // the connections on which identify completed (on the side that ran it): a peer learns a moved peer's
  // new address only from an identify that completes (libp2p does not run a failed one again)
  const identified = new Set<string>()
  const noteIdentify = (evt: CustomEvent<IdentifyResult>): void => { identified.add(evt.detail.connection.id) }
  for (const n of nodes) n.addEventListener('peer:identify', noteIdentify)
  for (let t = 0; t < params.moves && t < order.length; t++) {
    const x = order[t]
    const s = pop[x].peers[rnd.below(pop[x].peers.length)]
    await nodes[x].stop()
    nodes[x] = await make(x, t + 1)
    generationOf[x] = t + 1
    nodes[x].addEventListener('peer:identify', noteIdentify)
    // what it announces (identify tells its peers these): none would mean its listener did not come up
    const listening = nodes[x].getMultiaddrs().filter(a => a.toString().includes(`-${x}-${t + 1}`)).length
    const others = pop[x].peers.filter(p => p !== s)
    // as presence would: each of its peers dialled until it answers (a few tries on a loaded machine)
    await Promise.all(others.map(async p => {
      for (let attempt = 0; attempt < 3; attempt++) {
        try { await nodes[x].dial(addrOf(p), { signal: AbortSignal.timeout(30_000) }); return } catch {}
      }
    }))
    await Promise.resolve(nodes[s].hangUp(ids[x])).catch(() => {})
    // the peers X reconnected to learn its new address by identify (a moment after the connection opens)
    const isFresh = (a: { toString: () => string }): boolean => a.toString().includes(`-${x}-${t + 1}`)
    const settled = Date.now() + 30_000
    let knowing = 0
    while (Date.now() < settled) {
      const known = await Promise.all(others.map(async p => await nodes[p].peerStore.get(ids[x]).then(e => e.addresses.some(a => isFresh(a.multiaddr)), () => false)))
      knowing = known.filter(Boolean).length
      if (knowing === others.length) break
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    // identify on the peers' side of their new connections to the moved peer
    const theirs = others.flatMap(p => nodes[p].getConnections(ids[x]))
    const done = theirs.filter(c => identified.has(c.id)).length
    if (knowing < others.length || done < theirs.length) {
      const connected = others.filter(p => nodes[x].getConnections(ids[p]).length > 0).length
      progress(`move ${t + 1}: after 30 s ${knowing} of the moved peer's ${others.length} other peers had its new address (${connected} connected to it); identify completed on ${done} of their ${theirs.length} connections to it`)
    }
    const start = performance.now()
    // wall clock, generous: a thousand nodes share one event loop here, and the figure that matters is the
    // modelled time from the hops (30 s lost lookups that 15 to 29 connected peers could have answered)
    const deadline = AbortSignal.timeout(STUDY_DEADLINE_MS)
    await nodes[s].peerStore.delete(ids[x]).catch(() => {})
    // what presence does (src/node/presence.ts): a DHT lookup (peer routing, the cache bypassed; an answer
    // with only the old address is asked again) and, side by side, a question to the connected trusted
    // peers (locate); then a dial to the new address. Both are measured to the end, for the figures.
    const dht = (async (): Promise<{ hops: number, fresh: Multiaddr[] }> => {
      let hops = 0
      for (;;) {
        const perPath = new Map<number, number>()
        let final: { peer: PeerInfo, path: { index: number } } | undefined
        // the first answer that has the new address; a peer that missed the move may answer first with the old one
        for await (const e of nodes[s].services.dht.findPeer(ids[x], { signal: deadline, useCache: false } as Parameters<KadDHT['findPeer']>[1])) {
          if (e.name === 'PEER_RESPONSE') perPath.set(e.path.index, (perPath.get(e.path.index) ?? 0) + 1)
          if (e.name === 'FINAL_PEER') {
            final = e
            if (e.peer.multiaddrs.some(isFresh)) break
          }
        }
        if (final === undefined) throw new Error('the DHT did not find the peer')
        // the answers received on the path that found it, one after the other: its hops
        hops += Math.max(1, perPath.get(final.path.index) ?? 0)
        const fresh = final.peer.multiaddrs.filter(isFresh)
        if (fresh.length > 0) return { hops, fresh }
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    })()
    const located = locators[s].locate(ids[x], { signal: deadline }).then(addrs => addrs.filter(isFresh))
    const [byDht, byLocate] = await Promise.allSettled([dht, located])
    let hops = Infinity
    const fresh: Multiaddr[] = []
    if (byDht.status === 'fulfilled') { foundByDht++; hops = byDht.value.hops; fresh.push(...byDht.value.fresh) }
    // locate: one request to each connected peer, side by side: one hop
    if (byLocate.status === 'fulfilled' && byLocate.value.length > 0) { foundByLocate++; hops = Math.min(hops, 1); fresh.push(...byLocate.value) }
    try {
      if (fresh.length === 0) {
        const why = (r: PromiseSettledResult<unknown>): string => r.status === 'rejected' ? (r.reason as Error).message : 'nothing new'
        const knew = (await Promise.all(pop[s].peers.filter(p => p !== x).map(async p => nodes[s].getConnections(ids[p]).length > 0 && await nodes[p].peerStore.get(ids[x]).then(e => e.addresses.some(a => isFresh(a.multiaddr)), () => false)))).filter(Boolean).length
        if (knew === 0) noneKnew++
        // why no connected peer knew: the peers the two share, how many of them the searcher is connected
        // to, and how many the moved peer reconnected to
        const common = pop[s].peers.filter(p => p !== x && pop[x].peers.includes(p))
        const toSearcher = common.filter(p => nodes[s].getConnections(ids[p]).length > 0).length
        const toMoved = common.filter(p => nodes[x].getConnections(ids[p]).length > 0).length
        // did identify fail on the new connections? ask again on each, and see who has the new address then
        let reidentified = 0
        await Promise.all(common.map(async p => {
          const identify = nodes[p].services.identify
          for (const c of nodes[p].getConnections(ids[x])) await identify.identify(c, { signal: AbortSignal.timeout(30_000) }).catch(() => {})
          if (await nodes[p].peerStore.get(ids[x]).then(e => e.addresses.some(a => isFresh(a.multiaddr)), () => false)) reidentified++
        }))
        throw new Error(`not found (DHT: ${why(byDht)}; locate: ${why(byLocate)}; connected peers that had the new address: ${knew}; peers in common ${common.length}, connected to the searcher ${toSearcher}, to the moved peer ${toMoved}, of them ${reidentified} had the new address once identify was asked again; the moved peer listened on ${listening} new address(es) after its restart, ${nodes[x].getMultiaddrs().length} now)`)
      }
      // as presence dials: the addresses go into the peer store, then a dial to them (withPeerId: an
      // address may already end in the peer's id), each dial within presence's dial timeout. When it fails,
      // presence's next attempt, after its backoff, dials the peer, whose new addresses the store now has
      // (the study waits presence's shortest backoff, reconnect.minMs with its jitter, doubling: after a
      // longer run of failures presence waits longer). A failed dial is charged what it took here.
      await nodes[s].peerStore.merge(ids[x], { multiaddrs: fresh.map(a => withoutPeerId(a)) }).catch(() => {})
      let lostMs = 0
      let tries = 0
      let first: Error | undefined
      for (;;) {
        const dialStart = performance.now()
        try {
          await nodes[s].dial(tries === 0 ? fresh.map(a => withPeerId(a, ids[x])) : ids[x], { signal: AbortSignal.any([deadline, AbortSignal.timeout(DEFAULT_DIAL_TIMEOUT_MS)]) })
          break
        } catch (err) {
          first ??= err as Error
          lostMs += performance.now() - dialStart
          const wait = backoffDelay(tries, DEFAULT_NODE_CONFIG.reconnect, jitter.next)
          if (deadline.aborted || performance.now() + wait > start + STUDY_DEADLINE_MS) {
            throw new Error(`the address was found, but ${tries + 1} dial(s) to it failed, the first with ${first.name}: ${first.message}`)
          }
          lostMs += wait
          tries++
          await new Promise(resolve => setTimeout(resolve, wait))
        }
      }
      if (first !== undefined) {
        redialled++
        if (redialErrors.length < 5) redialErrors.push(`${first.name}: ${first.message}`)
        progress(`move ${t + 1}: the first dial failed (${first.name}: ${first.message}); connected on try ${tries + 1}, ${(lostMs / 1000).toFixed(1)} s later`)
      }
      modelled.push(modelMs(hops) + lostMs)
      found++
    } catch (err) {
      if (failures.length < 5) failures.push(`${(err as Error).name}: ${(err as Error).message}`)
      progress(`move ${t + 1} not found: ${(err as Error).name}: ${(err as Error).message}`)
      hops = Infinity
      modelled.push(Infinity)
    }
    times.push(performance.now() - start)
    hopCounts.push(hops)
    if ((t + 1) % 10 === 0) progress(`${t + 1} moves, ${found} found`)
  }
  const rssMiB = process.memoryUsage().rss / 1024 / 1024
  await inBatches(locators, 50, async l => { await l.stop() })
  await inBatches(nodes, 50, async n => { await Promise.resolve(n.stop()).catch(() => {}) })
  times.sort((a, b) => a - b)
  hopCounts.sort((a, b) => a - b)
  modelled.sort((a, b) => a - b)
  const quantile = (a: number[], p: number): number => a.length === 0 ? 0 : a[Math.min(a.length - 1, Math.floor(p * a.length))]
  const q = (p: number): number => quantile(times, p)
  return {
    nodes: params.nodes,
    connections: pairs.length,
    setupSeconds,
    lookups: {
      count: times.length,
      found,
      foundByDht,
      foundByLocate,
      notFoundNoneConnectedKnew: noneKnew,
      hops: { p50: quantile(hopCounts, 0.5), p99: quantile(hopCounts, 0.99), max: hopCounts.at(-1) ?? 0 },
      lookupModelMs: { p50: modelMs(quantile(hopCounts, 0.5)), p99: modelMs(quantile(hopCounts, 0.99)), max: modelMs(hopCounts.at(-1) ?? 0) },
      modelMs: { p50: quantile(modelled, 0.5), p99: quantile(modelled, 0.99), max: modelled.at(-1) ?? 0 },
      redialled: { count: redialled, errors: redialErrors },
      p50Ms: q(0.5),
      p99Ms: q(0.99),
      maxMs: times.at(-1) ?? 0,
      failures
    },
    idleBytesPerNodePerDay: params.idleSeconds > 0 ? idleBytes / params.nodes / params.idleSeconds * 86400 : 0,
    idleSeconds: params.idleSeconds,
    rssMiB
  }
}

/** Counts every byte the in-memory transport sends (its connection class, patched once). */
async function byteCounter (): Promise<{ reset: () => void, bytes: () => number }> {
  const dir = dirname(fileURLToPath(import.meta.resolve('@libp2p/memory')))
  const mod = await import(pathToFileURL(join(dir, 'pushable-to-conn.js')).href) as { pushableToMaConn: (init: unknown) => object }
  const state = { bytes: 0 }
  const proto = Object.getPrototypeOf(mod.pushableToMaConn({ connection: { latency: 0 }, remoteAddr: multiaddr('/memory/probe'), direction: 'outbound', localPushable: { push () {}, end () {} }, remotePushable: (async function * () { await new Promise(() => {}) })(), log: logger('holdfast:dht-study:probe'), maxMessageSize: 1 })) as { sendData: (data: { byteLength: number }) => unknown, __holdfastCounted?: boolean }
  if (proto.__holdfastCounted !== true) {
    const original = proto.sendData
    proto.sendData = function (this: unknown, data: { byteLength: number }) {
      (proto as unknown as { __count: { bytes: number } }).__count.bytes += data.byteLength
      return original.call(this, data)
    }
    proto.__holdfastCounted = true
  }
  ;(proto as unknown as { __count: { bytes: number } }).__count = state
  return { reset: () => { state.bytes = 0 }, bytes: () => state.bytes }
}
