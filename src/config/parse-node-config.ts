import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ConfigError } from '../errors.js'
import { DEFAULT_NODE_CONFIG, type NodeConfig } from './node-config.js'

/**
 * Validates `overrides` (the parsed content of node.json) and merges it over the defaults: keys left
 * out keep their default, nested objects (relay, reconnect) are merged key by key. Any unknown key or
 * invalid value throws a ConfigError naming the key (e.g. `node.json: reconnect.minMs must be ...`).
 * Pure: no I/O.
 */
export function parseNodeConfig (overrides: unknown, source = 'node.json'): NodeConfig {
  const cfg = copyDefaults()
  if (overrides === undefined) return cfg
  const o = asObject(overrides, source, '(top level)')
  for (const [key, value] of Object.entries(o)) {
    const set = FIELDS[key]
    if (set == null) throw new ConfigError(`${source}: unknown key "${key}" (known keys: ${Object.keys(FIELDS).join(', ')})`)
    set(cfg, value, (msg) => new ConfigError(`${source}: ${key}${msg}`))
  }
  if (cfg.relay.reserve.length > 0 && !cfg.relay.client) {
    throw new ConfigError(`${source}: relay.reserve needs relay.client (reservations are made by the relay client)`)
  }
  if (cfg.reconnect.maxMs < cfg.reconnect.minMs) {
    throw new ConfigError(`${source}: reconnect.maxMs (${cfg.reconnect.maxMs}) must not be less than reconnect.minMs (${cfg.reconnect.minMs})`)
  }
  return cfg
}

/** The peer id named by a multiaddr's /p2p/ component, if it has one. */
export function peerIdStringOf (addr: Multiaddr): string | undefined {
  return addr.getComponents().findLast((c) => c.name === 'p2p')?.value
}

type Fail = (msg: string) => Error
type Setter = (cfg: NodeConfig, value: unknown, fail: Fail) => void

const FIELDS: Record<string, Setter> = {
  listen: (cfg, v, fail) => { cfg.listen = multiaddrs(v, fail, false) },
  announce: (cfg, v, fail) => { cfg.announce = multiaddrs(v, fail, false) },
  apiPort: (cfg, v, fail) => { cfg.apiPort = integer(v, 0, 65535, fail) },
  bootstrap: (cfg, v, fail) => { cfg.bootstrap = multiaddrs(v, fail, true) },
  mdns: (cfg, v, fail) => { cfg.mdns = boolean(v, fail) },
  dht: (cfg, v, fail) => { cfg.dht = boolean(v, fail) },
  relay: (cfg, v, fail) => {
    nested(v, fail, {
      server: (x, f) => { cfg.relay.server = boolean(x, f) },
      client: (x, f) => { cfg.relay.client = boolean(x, f) },
      reserve: (x, f) => { cfg.relay.reserve = peerRefs(x, f) }
    })
  },
  holePunching: (cfg, v, fail) => { cfg.holePunching = boolean(v, fail) },
  autonat: (cfg, v, fail) => { cfg.autonat = boolean(v, fail) },
  upnp: (cfg, v, fail) => { cfg.upnp = boolean(v, fail) },
  inviteExpirySeconds: (cfg, v, fail) => { cfg.inviteExpirySeconds = integer(v, 60, 30 * 86400, fail) },
  transfers: (cfg, v, fail) => { cfg.transfers = integer(v, 1, 10, fail) },
  reconnect: (cfg, v, fail) => {
    nested(v, fail, {
      minMs: (x, f) => { cfg.reconnect.minMs = integer(x, 10, 3_600_000, f) },
      maxMs: (x, f) => { cfg.reconnect.maxMs = integer(x, 10, 86_400_000, f) }
    })
  },
  placement: (cfg, v, fail) => {
    nested(v, fail, {
      onShortfall: (x, f) => { if (x !== 'reduced' && x !== 'wait') f('must be "reduced" or "wait"'); cfg.placement.onShortfall = x as 'reduced' | 'wait' },
      waitSeconds: (x, f) => { cfg.placement.waitSeconds = integer(x, 1, 86400, f) }
    })
  },
  scrub: (cfg, v, fail) => {
    nested(v, fail, {
      enabled: (x, f) => { cfg.scrub.enabled = boolean(x, f) },
      periodSeconds: (x, f) => { cfg.scrub.periodSeconds = integer(x, 1, 365 * 86400, f) },
      bytesPerSecond: (x, f) => { cfg.scrub.bytesPerSecond = integer(x, 4096, 10 * 1024 ** 3, f) }
    })
  },
  maintenance: (cfg, v, fail) => {
    nested(v, fail, {
      enabled: (x, f) => { cfg.maintenance.enabled = boolean(x, f) },
      auditPeriodSeconds: (x, f) => { cfg.maintenance.auditPeriodSeconds = integer(x, 1, 365 * 86400, f) },
      tickSeconds: (x, f) => { cfg.maintenance.tickSeconds = integer(x, 1, 86400, f) },
      segments: (x, f) => { cfg.maintenance.segments = integer(x, 1, 16, f) },
      challengesPerSecond: (x, f) => { cfg.maintenance.challengesPerSecond = integer(x, 1, 10_000, f) },
      repair: (x, f) => { cfg.maintenance.repair = boolean(x, f) },
      repairPacksPerTick: (x, f) => { cfg.maintenance.repairPacksPerTick = integer(x, 1, 10_000, f) },
      graceSeconds: (x, f) => { cfg.maintenance.graceSeconds = integer(x, 0, 365 * 86400, f) },
      repairThreshold: (x, f) => { cfg.maintenance.repairThreshold = integer(x, 0, 255, f) }
    })
  }
}

function copyDefaults (): NodeConfig {
  const d = DEFAULT_NODE_CONFIG
  return {
    ...d,
    listen: [...d.listen],
    announce: [...d.announce],
    bootstrap: [...d.bootstrap],
    relay: { ...d.relay, reserve: [...d.relay.reserve] },
    reconnect: { ...d.reconnect },
    placement: { ...d.placement },
    scrub: { ...d.scrub },
    maintenance: { ...d.maintenance }
  }
}

function show (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v)}`
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return `a value of type ${typeof v}`
}

function asObject (v: unknown, source: string, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ConfigError(`${source}: ${where} must be a JSON object, got ${show(v)}`)
  }
  return v as Record<string, unknown>
}

function nested (v: unknown, fail: Fail, fields: Record<string, (x: unknown, f: Fail) => void>): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail(` must be an object, got ${show(v)}`)
  for (const [key, x] of Object.entries(v)) {
    const set = fields[key]
    if (set == null) throw fail(`.${key} is not a known key (known: ${Object.keys(fields).join(', ')})`)
    set(x, (msg) => fail(`.${key}${msg}`))
  }
}

function boolean (v: unknown, fail: Fail): boolean {
  if (typeof v !== 'boolean') throw fail(` must be true or false, got ${show(v)}`)
  return v
}

function integer (v: unknown, min: number, max: number, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw fail(` must be an integer from ${min} to ${max}, got ${show(v)}`)
  }
  return v
}

/** Peers named by a peer id or by a multiaddr ending in /p2p/<peer id> (normalised; a peer named twice is refused). */
function peerRefs (v: unknown, fail: Fail): string[] {
  if (!Array.isArray(v)) throw fail(` must be an array of peer ids or multiaddrs, got ${show(v)}`)
  const seen = new Set<string>()
  return v.map((x, i) => {
    if (typeof x !== 'string') throw fail(`[${i}] must be a peer id or a multiaddr string, got ${show(x)}`)
    let ref = x
    let id: string | undefined = x
    if (x.startsWith('/')) {
      try { ref = multiaddr(x).toString() } catch (err) {
        throw fail(`[${i}] is not a valid multiaddr: ${JSON.stringify(x)} (${(err as Error).message})`)
      }
      const last = multiaddr(ref).getComponents().at(-1)
      id = last?.name === 'p2p' ? last.value : undefined
      if (id == null) throw fail(`[${i}] must end in /p2p/<peer id>: ${JSON.stringify(x)}`)
    }
    try { peerIdFromString(id) } catch { throw fail(`[${i}] names no valid peer id: ${JSON.stringify(x)}`) }
    if (seen.has(id)) throw fail(`[${i}] names peer ${id} a second time`)
    seen.add(id)
    return ref
  })
}

/** The peer id of a relay.reserve entry (a peer id, or a multiaddr ending in /p2p/<peer id>). */
export function peerIdOfRef (ref: string): string {
  return ref.startsWith('/') ? peerIdStringOf(multiaddr(ref))! : ref
}

function multiaddrs (v: unknown, fail: Fail, needPeerId: boolean): string[] {
  if (!Array.isArray(v)) throw fail(` must be an array of multiaddr strings, got ${show(v)}`)
  return v.map((x, i) => {
    if (typeof x !== 'string') throw fail(`[${i}] must be a multiaddr string, got ${show(x)}`)
    let ma: Multiaddr
    try { ma = multiaddr(x) } catch (err) {
      throw fail(`[${i}] is not a valid multiaddr: ${JSON.stringify(x)} (${(err as Error).message})`)
    }
    if (needPeerId) {
      const id = peerIdStringOf(ma)
      if (id == null) throw fail(`[${i}] must end in /p2p/<peer id>: ${JSON.stringify(x)}`)
      try { peerIdFromString(id) } catch { throw fail(`[${i}] names an invalid peer id: ${JSON.stringify(id)}`) }
    }
    return ma.toString()
  })
}
