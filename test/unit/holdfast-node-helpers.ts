import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { parseNodeConfig, type NodeConfig } from '../../src/config/index.js'
import { TrustGate } from '../../src/node/gater.js'
import { loadOrCreateIdentity } from '../../src/node/identity.js'
import { bootstrapPeerIds, createHoldfastNode, type HoldfastLibp2p } from '../../src/node/libp2p-node.js'
import { PairingService } from '../../src/node/pairing.js'
import { Presence } from '../../src/node/presence.js'
import { writeProfile, type NodeProfile } from '../../src/node/profile.js'
import { TrustList } from '../../src/node/trust-list.js'

/**
 * Holdfast nodes for the network tests: each in its own temporary home, listening on 127.0.0.1 on a
 * random port, with mDNS, AutoNAT, relay and UPnP off unless asked for.
 */
export function testConfig (overrides: Record<string, unknown> = {}): NodeConfig {
  return parseNodeConfig({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    autonat: false,
    holePunching: false,
    relay: { server: false, client: false },
    reconnect: { minMs: 200, maxMs: 2000 },
    ...overrides
  }, 'test config')
}

export async function tempHome (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'holdfast-node-test-'))
}

export interface TestPeer {
  home: string
  key: Ed25519PrivateKey
  profile: NodeProfile
  config: NodeConfig
  trust: TrustList
  gate: TrustGate
  node: HoldfastLibp2p
  pairing: PairingService
  presence?: Presence
  /** Stops presence, pairing and the node (the home stays). */
  stop: () => Promise<void>
  /** stop(), then removes the home. */
  destroy: () => Promise<void>
}

export interface PeerOptions {
  name: string
  site?: string
  home?: string
  config?: Record<string, unknown>
  presence?: boolean
  provisionalMs?: number
  pairingTimeoutMs?: number
  /** Run identify on every new connection (default true). */
  identifyOnConnect?: boolean
}

/** A node with its trust list, gate and pairing service started (and presence if asked for). */
export async function startPeer (opts: PeerOptions): Promise<TestPeer> {
  const home = opts.home ?? await tempHome()
  const profile = { name: opts.name, site: opts.site ?? `${opts.name}-site` }
  await writeProfile(home, profile)
  const key = await loadOrCreateIdentity(home)
  const config = testConfig(opts.config)
  const trust = await TrustList.open(home)
  const gate = new TrustGate({ trust, infrastructure: bootstrapPeerIds(config) })
  const node = await createHoldfastNode({ privateKey: key, config, trust, gate, provisionalMs: opts.provisionalMs, identifyOnConnect: opts.identifyOnConnect })
  const pairing = new PairingService({ node, home, trust, gate, profile, inviteExpirySeconds: config.inviteExpirySeconds, timeoutMs: opts.pairingTimeoutMs })
  await pairing.start()
  let presence: Presence | undefined
  if (opts.presence === true) {
    presence = new Presence({ node, trust, reconnect: config.reconnect, bootstrap: config.bootstrap, dht: config.dht, dialTimeoutMs: 3000, findPeerTimeoutMs: 10_000 })
    await presence.start()
  }
  const peer: TestPeer = {
    home,
    key,
    profile,
    config,
    trust,
    gate,
    node,
    pairing,
    presence,
    stop: async () => {
      await peer.presence?.stop()
      await peer.pairing.stop()
      await peer.node.stop()
      await peer.trust.flush()
    },
    destroy: async () => {
      await peer.stop()
      await rm(home, { recursive: true, force: true })
    }
  }
  return peer
}

/** Waits until `check` holds, polling every 50 ms; fails after `ms`. */
export async function eventually (check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The next event of that type from the target, or a rejection after `ms`. */
export async function nextEvent<T> (target: EventTarget, type: string, ms: number): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => { target.removeEventListener(type, listener); reject(new Error(`no ${type} event within ${ms} ms`)) }, ms)
    const listener = (evt: Event): void => {
      clearTimeout(timer)
      target.removeEventListener(type, listener)
      resolve((evt as CustomEvent<T>).detail)
    }
    target.addEventListener(type, listener)
  })
}

/**
 * Pings `peer` over an existing or new connection. The DHT pings new contacts with the same protocol
 * and ping allows one outbound stream per connection, so a collision is retried.
 */
export async function pingPeer (node: HoldfastLibp2p, peer: PeerId): Promise<number> {
  return await node.services.ping.ping(peer, { signal: AbortSignal.timeout(5000) })
}

/** Each trusts the other (with its current addresses unless withAddresses is false). */
export async function trustEachOther (a: TestPeer, b: TestPeer, options: { withAddresses?: boolean } = {}): Promise<void> {
  const addrs = (p: TestPeer): string[] => options.withAddresses === false ? [] : p.node.getMultiaddrs().map(String)
  await a.trust.add({ peerId: b.node.peerId.toString(), name: b.profile.name, site: b.profile.site, addresses: addrs(b) })
  await b.trust.add({ peerId: a.node.peerId.toString(), name: a.profile.name, site: a.profile.site, addresses: addrs(a) })
}
