import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ConfigError } from '../errors.js'
import { isAbsolute } from 'node:path'
import { DEFAULT_BACKUP_SET, DEFAULT_NODE_CONFIG, type BackupSetConfig, type NodeConfig } from './node-config.js'
import { parseCron } from '../schedule/cron.js'
import { parseWindow } from '../bandwidth/time-windows.js'
import { parseSize } from '../util/format.js'
import { checkHeaderText, checkMailAddress } from '../util/mail-address.js'

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
      onShortfall: (x, f) => { if (x !== 'reduced' && x !== 'wait') throw f(' must be "reduced" or "wait"'); cfg.placement.onShortfall = x as 'reduced' | 'wait' },
      waitSeconds: (x, f) => { cfg.placement.waitSeconds = integer(x, 1, 86400, f) }
    })
  },
  gui: (cfg, v, fail) => {
    nested(v, fail, {
      enabled: (x, f) => { cfg.gui.enabled = boolean(x, f) },
      listen: (x, f) => {
        const listen = text(x, 3, 300, f)
        if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(listen) || Number(listen.split(':').pop()) > 65535) throw f(` must be HOST:PORT (for example 127.0.0.1:8486), got ${show(x)}`)
        cfg.gui.listen = listen
      },
      https: (x, f) => {
        if (x !== 'auto' && x !== true && x !== false) throw f(` must be "auto", true or false, got ${show(x)}`)
        cfg.gui.https = x
      }
    })
  },
  locks: (cfg, v, fail) => {
    nested(v, fail, {
      staleSeconds: (x, f) => { cfg.locks.staleSeconds = integer(x, 3, 7 * 86400, f) },
      refreshSeconds: (x, f) => { cfg.locks.refreshSeconds = integer(x, 1, 86400, f) }
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
      repairThreshold: (x, f) => { cfg.maintenance.repairThreshold = integer(x, 0, 255, f) },
      urgentGraceSeconds: (x, f) => { cfg.maintenance.urgentGraceSeconds = integer(x, 0, 365 * 86400, f) },
      overdueSlackSeconds: (x, f) => { cfg.maintenance.overdueSlackSeconds = integer(x, 0, 30 * 86400, f) }
    })
  },
  bandwidth: (cfg, v, fail) => {
    nested(v, fail, {
      upload: (x, f) => { cfg.bandwidth.upload = rate(x, f) },
      download: (x, f) => { cfg.bandwidth.download = rate(x, f) },
      windows: (x, f) => {
        cfg.bandwidth.windows = strings(x, 100, f)
        cfg.bandwidth.windows.forEach((w, i) => { try { parseWindow(w) } catch (err) { throw f(`[${i}]: ${(err as Error).message}`) } })
      }
    })
  },
  vault: (cfg, v, fail) => {
    cfg.vault = text(v, 0, 4096, fail)
    if (cfg.vault !== '' && !isAbsolute(cfg.vault)) throw fail(' must be an absolute path')
  },
  retention: (cfg, v, fail) => {
    const r = cfg.retention
    nested(v, fail, {
      last: (x, f) => { r.last = integer(x, -1, 1_000_000, f) },
      hourly: (x, f) => { r.hourly = integer(x, -1, 1_000_000, f) },
      daily: (x, f) => { r.daily = integer(x, -1, 1_000_000, f) },
      weekly: (x, f) => { r.weekly = integer(x, -1, 1_000_000, f) },
      monthly: (x, f) => { r.monthly = integer(x, -1, 1_000_000, f) },
      yearly: (x, f) => { r.yearly = integer(x, -1, 1_000_000, f) },
      tags: (x, f) => { r.tags = strings(x, 100, f) },
      prune: (x, f) => { r.prune = boolean(x, f) },
      orphanGraceSeconds: (x, f) => { r.orphanGraceSeconds = integer(x, 0, 10 * 365 * 86400, f) }
    })
  },
  backup: (cfg, v, fail) => {
    const b = cfg.backup
    nested(v, fail, {
      exclude: (x, f) => { b.exclude = strings(x, 1000, f) },
      ignoreFile: (x, f) => { b.ignoreFile = text(x, 0, 255, f); if (b.ignoreFile.includes('/')) throw f(' must be a file name, not a path') },
      excludeCaches: (x, f) => { b.excludeCaches = boolean(x, f) },
      priority: (x, f) => { b.priority = strings(x, 1000, f) },
      hooks: (x, f) => {
        nested(x, f, {
          pre: (y, g) => { b.hooks.pre = text(y, 0, 4096, g) },
          post: (y, g) => { b.hooks.post = text(y, 0, 4096, g) },
          abortOnPreFailure: (y, g) => { b.hooks.abortOnPreFailure = boolean(y, g) },
          timeoutSeconds: (y, g) => { b.hooks.timeoutSeconds = integer(y, 1, 86400, g) }
        })
      },
      notify: (x, f) => {
        nested(x, f, {
          when: (y, g) => { if (y !== 'never' && y !== 'failure' && y !== 'always') throw g(' must be "never", "failure" or "always"'); b.notify.when = y as 'never' | 'failure' | 'always' },
          webhook: (y, g) => { b.notify.webhook = httpUrl(y, g) },
          smtp: (y, g) => {
            const s = b.notify.smtp
            nested(y, g, {
              host: (z, h) => { s.host = plainText(z, 255, h) },
              port: (z, h) => { s.port = integer(z, 1, 65535, h) },
              secure: (z, h) => { s.secure = boolean(z, h) },
              user: (z, h) => { s.user = plainText(z, 255, h) },
              passwordFile: (z, h) => { s.passwordFile = text(z, 0, 4096, h) },
              from: (z, h) => { s.from = text(z, 0, 255, h); if (s.from !== '') checkMailAddress(s.from, r => h(`: ${r}`)) },
              to: (z, h) => { s.to = strings(z, 32, h).map((a, i) => checkMailAddress(a, r => h(`[${i}]: ${r}`))) }
            })
          }
        })
      },
      passphraseFile: (x, f) => { b.passphraseFile = text(x, 0, 4096, f) },
      retryBaseSeconds: (x, f) => { b.retryBaseSeconds = integer(x, 0, 3600, f) },
      sets: (x, f) => { b.sets = backupSets(x, f) }
    })
    if (b.notify.smtp.host !== '' && (b.notify.smtp.from === '' || b.notify.smtp.to.length === 0)) throw fail('.notify.smtp needs from and to when host is set')
  }
}

const SET_NAME = /^[A-Za-z0-9._-]{1,64}$/

function backupSets (v: unknown, fail: Fail): BackupSetConfig[] {
  if (!Array.isArray(v)) throw fail(` must be an array of backup sets, got ${show(v)}`)
  if (v.length > 100) throw fail(' may hold at most 100 sets')
  const names = new Set<string>()
  return v.map((x, i) => {
    const f: Fail = (msg) => fail(`[${i}]${msg}`)
    const set: BackupSetConfig = { name: '', paths: [], ...DEFAULT_BACKUP_SET, exclude: [] }
    nested(x, f, {
      name: (y, g) => { if (typeof y !== 'string' || !SET_NAME.test(y)) throw g(' must be 1-64 letters, digits, ".", "_" or "-"'); set.name = y as string },
      paths: (y, g) => { set.paths = strings(y, 1000, g); set.paths.forEach((p, j) => { if (!isAbsolute(p)) throw g(`[${j}] must be an absolute path, got ${JSON.stringify(p)}`) }) },
      standby: (y, g) => {
        const dir = text(y, 1, 4096, g)
        if (!isAbsolute(dir)) throw g(` must be an absolute path, got ${JSON.stringify(dir)}`)
        set.standby = dir
      },
      command: (y, g) => {
        const argv = strings(y, 64, g)
        if (argv.length === 0 || argv[0] === '') throw g(' needs the program to run, then its arguments: ["pg_dump", "--format=custom", "db"]')
        if (argv.some(a => a.length > 4096 || a.includes('\0'))) throw g(': each argument is at most 4096 characters, without NUL')
        set.command = argv
      },
      exclude: (y, g) => { set.exclude = strings(y, 1000, g) },
      schedule: (y, g) => {
        set.schedule = text(y, 0, 255, g)
        if (set.schedule !== '') try { parseCron(set.schedule) } catch (err) { throw g(`: ${(err as Error).message}`) }
      },
      watch: (y, g) => { set.watch = boolean(y, g) },
      minAgeSeconds: (y, g) => { set.minAgeSeconds = integer(y, 0, 86400, g) },
      rescanSeconds: (y, g) => { set.rescanSeconds = integer(y, 1, 30 * 86400, g) },
      ping: (y, g) => { set.ping = httpUrl(y, g) }
    })
    if (set.name === '') throw f('.name is needed')
    if (set.command != null) {
      if (set.paths.length > 0) throw f(': give .paths or .command, not both')
      if (set.watch) throw f('.watch: a command\'s output cannot be watched; give it a schedule')
      if (set.name === '.' || set.name === '..') throw f('.name: a command\'s output is stored as /NAME, so the name cannot be "." or ".."')
    } else if (set.paths.length === 0) throw f('.paths needs at least one absolute path (or .command)')
    if (names.has(set.name)) throw f(`.name: a second set named ${JSON.stringify(set.name)}`)
    if (set.standby != null && set.paths.some(p => set.standby === p || set.standby!.startsWith(p.endsWith('/') ? p : `${p}/`))) throw f('.standby: the standby folder cannot be inside what the set backs up')
    names.add(set.name)
    return set
  })
}

/** Bytes per second: a whole number, or a size such as "512KiB"; 0 = unlimited. */
function rate (v: unknown, fail: Fail): number {
  if (typeof v === 'string') {
    try { return parseSize(v) } catch { throw fail(` must be bytes per second (a number or a size like "2MiB"), got ${show(v)}`) }
  }
  return integer(v, 0, 100 * 1024 ** 3, fail)
}

function text (v: unknown, min: number, max: number, fail: Fail): string {
  if (typeof v !== 'string' || v.length < min || v.length > max) throw fail(` must be a string of ${min} to ${max} characters, got ${show(v)}`)
  return v
}

/** A string with no line break or other control character (it ends up in a protocol line or a header). */
function plainText (v: unknown, max: number, fail: Fail): string {
  return checkHeaderText(text(v, 0, max, fail), r => fail(`: ${r}`))
}

function strings (v: unknown, maxItems: number, fail: Fail): string[] {
  if (!Array.isArray(v)) throw fail(` must be an array of strings, got ${show(v)}`)
  if (v.length > maxItems) throw fail(` may hold at most ${maxItems} entries`)
  return v.map((x, i) => text(x, 1, 4096, (msg) => fail(`[${i}]${msg}`)))
}

function httpUrl (v: unknown, fail: Fail): string {
  const s = text(v, 0, 2048, fail)
  if (s === '') return s
  let url: URL
  try { url = new URL(s) } catch { throw fail(` must be an http(s) URL, got ${show(s)}`) }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(` must be an http(s) URL, got ${show(s)}`)
  return s
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
    locks: { ...d.locks },
    gui: { ...d.gui },
    maintenance: { ...d.maintenance },
    backup: {
      ...d.backup,
      exclude: [...d.backup.exclude],
      priority: [...d.backup.priority],
      hooks: { ...d.backup.hooks },
      notify: { ...d.backup.notify, smtp: { ...d.backup.notify.smtp, to: [...d.backup.notify.smtp.to] } },
      sets: d.backup.sets.map(s => ({ ...s, paths: [...s.paths], exclude: [...s.exclude], ...(s.command != null ? { command: [...s.command] } : {}) }))
    },
    bandwidth: { ...d.bandwidth, windows: [...d.bandwidth.windows] },
    retention: { ...d.retention, tags: [...d.retention.tags] }
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
