import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, PeerInfo, PrivateKey } from '@libp2p/interface'
import { kadDHT, type KadDHT } from '@libp2p/kad-dht'
import { mdns } from '@libp2p/mdns'
import { ping, PING_PROTOCOL, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { UPnPNAT } from '@libp2p/upnp-nat'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type ServiceFactoryMap } from 'libp2p'
import { peerIdStringOf, type NodeConfig } from '../config/index.js'
import { TrustGate, trustGater } from './gater.js'
import { PAIR_PROTOCOL } from './pairing.js'
import { relayReservations, type RelayReservations } from './relay-reservations.js'
import { trustGuard, type TrustGuard } from './trust-guard.js'
import { withoutRandomWalk } from './no-random-walk.js'
import type { TrustList } from './trust-list.js'

/**
 * Builds the libp2p node of a Holdfast daemon from the node configuration:
 *
 * - TCP, Noise, Yamux; identify and ping;
 * - the private DHT (protocol /holdfast/kad/1.0.0, always in server mode) whose peer-info mapper keeps
 *   every address of members (private and loopback ones too: friends often share a LAN) and drops
 *   every address of anyone else, so strangers never enter the routing table or our answers;
 * - mDNS on the service tag _holdfast._udp.local (presence dials the trusted peers it discovers);
 * - the circuit-relay transport (relay.client: dial through relays, accept relayed connections), the
 *   reservations on the relays of relay.reserve (relay-reservations.ts; the node never listens on a bare
 *   /p2p-circuit, whose relay search walks the DHT without pause while no relay is found), the relay
 *   server (relay.server; default limits lifted, reservations for trusted peers only), DCUtR hole
 *   punching, AutoNAT, and UPnP only when config.upnp. Neither the relay transport nor AutoNAT
 *   walks the DHT at random (no-random-walk.ts): among trusted peers it finds no one new and spins;
 * - the connection gater and the trust guard (gater.ts, trust-guard.ts): only trusted peers, the
 *   configured bootstrap nodes (routing only) and pairing peers get in; on a pairing peer's provisional
 *   connection only the pairing protocol and ping are served.
 *
 * Presence (presence.ts) and pairing (pairing.ts) are separate services that take this node.
 */
export const DHT_PROTOCOL = '/holdfast/kad/1.0.0'
export const MDNS_SERVICE_TAG = '_holdfast._udp.local'
/**
 * How often mDNS asks the LAN for Holdfast nodes (libp2p's default is 10 s). Every node answers every
 * query and every node parses every answer, so the work grows with the square of the nodes that share a
 * network (7 daemons on one host: about 1% of a core each at 10 s). Presence keeps trusted peers
 * connected on its own; mDNS only helps to find one whose LAN address changed, and a node that starts
 * queries at once and dials its peers itself, so once a minute is enough.
 */
export const MDNS_QUERY_INTERVAL_MS = 60_000

export interface HoldfastServices extends Record<string, unknown> {
  identify: Identify
  ping: Ping
  trustGuard: TrustGuard
  dht?: KadDHT
  relay?: CircuitRelayService
  relayReservations?: RelayReservations
  dcutr?: unknown
  autonat?: unknown
  upnp?: UPnPNAT
}

export type HoldfastLibp2p = Libp2p<HoldfastServices>

export interface HoldfastNodeInit {
  privateKey: PrivateKey
  config: NodeConfig
  trust: TrustList
  /** Defaults to a gate over `trust` with the bootstrap nodes as infrastructure peers. */
  gate?: TrustGate
  /** How long a pairing peer's connection may stay open before it is trusted (trust guard). */
  provisionalMs?: number
  /** Start the node (default true). */
  start?: boolean
  /** How often libp2p's connection monitor pings each open connection (default CONNECTION_PING_INTERVAL_MS). */
  pingIntervalMs?: number
  /**
   * Run identify on every new connection (default true). False only for tests of what happens when it does
   * not complete (the locate service asks again).
   */
  identifyOnConnect?: boolean
}

/** The peer ids of the configured bootstrap nodes. */
export function bootstrapPeerIds (config: Pick<NodeConfig, 'bootstrap'>): string[] {
  return config.bootstrap.map((a) => peerIdStringOf(multiaddr(a))).filter((id): id is string => id != null)
}

/**
 * How often libp2p's connection monitor pings each open connection, to find dead ones and measure the
 * round trip (libp2p's default is 10 s). Each ping is a new stream: about 550 bytes on the wire for both
 * sides, so at 10 s the monitor alone cost about 110 bytes/s per pair of connected peers (9 MiB a day;
 * with 32 peers, 300 MiB a day doing nothing). At 60 s a dead connection is noticed within a minute or
 * two, which is soon enough for presence and for backups, and the cost is a sixth.
 */
export const CONNECTION_PING_INTERVAL_MS = 60_000

/** Ping streams one connection may hold at once each way (the heartbeats of a busy node overlap). */
export const PING_STREAMS = 4

export async function createHoldfastNode (init: HoldfastNodeInit): Promise<HoldfastLibp2p> {
  const { config, trust } = init
  const gate = init.gate ?? new TrustGate({ trust, infrastructure: bootstrapPeerIds(config) })

  const services: Record<string, unknown> = {
    identify: identify({ runOnConnectionOpen: init.identifyOnConnect ?? true }),
    // libp2p's connection monitor pings every connection every 10 s without waiting for the last ping to
    // end, and aborts the connection when a ping fails. With the protocol's default of one outbound ping
    // stream, a ping still open on a loaded machine made the next heartbeat fail ("Too many outbound
    // protocol streams") and cut the connection with every shard transfer on it. A few may overlap.
    ping: ping({ maxOutboundStreams: PING_STREAMS, maxInboundStreams: PING_STREAMS + 1 }),
    // ping is exempt: libp2p's connection monitor pings every open connection every few seconds and
    // aborts it when the ping fails, which cut pairing handshakes that ran into a heartbeat
    trustGuard: trustGuard({ gate, trust, exempt: [PAIR_PROTOCOL, PING_PROTOCOL], provisionalMs: init.provisionalMs })
  }
  if (config.dht) {
    services.dht = kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: false,
      // not allowQueryWithZeroPeers: with no DHT peer yet, a query would then end at once, empty; a
      // random walk (which the relay transport and AutoNAT no longer get) spun on such answers
      peerInfoMapper: (peer: PeerInfo): PeerInfo => gate.isMember(peer.id) ? peer : { ...peer, multiaddrs: [] }
    })
  }
  if (config.relay.server) services.relay = circuitRelayServer({ reservations: { applyDefaultLimit: false } })
  if (config.relay.client && config.relay.reserve.length > 0) {
    services.relayReservations = relayReservations({ relays: config.relay.reserve, retry: config.reconnect })
  }
  if (config.relay.client && config.holePunching) services.dcutr = dcutr()
  // neither the relay transport's relay discovery nor AutoNAT may walk the DHT at random: on a network of
  // trusted peers it finds no one new and spins (no-random-walk.ts)
  if (config.autonat) services.autonat = withoutRandomWalk(autoNAT())
  // loaded only when used (off by default): otherwise about 2 MiB of code in every daemon for nothing
  if (config.upnp) services.upnp = (await import('@libp2p/upnp-nat')).uPnPNAT()

  const node = await createLibp2p({
    privateKey: init.privateKey,
    start: init.start ?? true,
    addresses: { listen: config.listen, announce: config.announce },
    transports: config.relay.client ? [tcp(), withoutRandomWalk(circuitRelayTransport())] : [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: config.mdns ? [mdns({ serviceTag: MDNS_SERVICE_TAG, interval: MDNS_QUERY_INTERVAL_MS })] : [],
    connectionGater: trustGater(gate),
    connectionMonitor: { pingInterval: init.pingIntervalMs ?? CONNECTION_PING_INTERVAL_MS },
    services: services as ServiceFactoryMap<HoldfastServices>
  })
  return node
}

/** The gate a node was built with (the trust guard holds it). */
export function gateOf (node: HoldfastLibp2p): TrustGate {
  return node.services.trustGuard.gate
}
