import { readFile } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { ApiServer, apiSocketPath, newApiToken, readApiToken, removeDaemonInfo, writeDaemonInfo } from '../api/index.js'
import { DaemonMetrics, guiSecurity, webRoutes, WebServer, type DaemonView, type MetricsSource, type PackHealthSummary, type Peer, type WebMount } from '../web/index.js'
import { packsNow } from '../maintenance/packs-now.js'
import { SessionLog } from '../session/session-log.js'
import { VERSION } from '../version.js'
import { loadNodeConfig, type NodeConfig } from '../config/index.js'
import { HostStore, Scrubber, ShardService, type ScrubPass } from '../host/index.js'
import { PeerShardStore, reachingDialer } from '../peer/index.js'
import { loadIdentity } from '../node/identity.js'
import { createHoldfastNode, type HoldfastLibp2p } from '../node/libp2p-node.js'
import { PairingService } from '../node/pairing.js'
import { Presence } from '../node/presence.js'
import { usualAbsence } from '../node/rhythm.js'
import { LocateService } from '../node/locate-service.js'
import { readProfile } from '../node/profile.js'
import { TrustList, type DeviceRole, type TrustEntry } from '../node/trust-list.js'
import { DeviceService, MAX_BUNDLE_HOSTS, type DeviceBundle } from '../device/index.js'
import { KitEscrowService } from '../recovery/kit-escrow-service.js'
import { FLEET_ACTIONS, FleetService, type FleetAction } from '../fleet/index.js'
import { FleetNode } from './fleet-node.js'
import { addHomeKey, changeHomePassphrase, listKeys, removeHomeKey, rotateHomeKeys, type KeyChange } from '../repository/home-keys.js'
import type { KeyView } from '../web/key-routes.js'
import type { DeviceRow } from '../web/key-schemas.js'
import { CliPipes } from './cli-pipes.js'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { loadNodeRecordKey } from '../repository/node-record-key.js'
import { checkAbort } from '../util/check-abort.js'
import { gateOf } from '../node/libp2p-node.js'
import { hashName, ReadOnlyStore, type ShardStore } from '../store/index.js'
import type { HealthSettings } from '../maintenance/repository-health.js'
import { RoleError, StoreUnavailableError, UsageError } from '../errors.js'
import { parseSize } from '../util/format.js'
import { UnlockCache, type UnlockFn } from './unlock-cache.js'
import { healthSettings, MaintenanceScheduler, type MaintenanceRound } from './maintenance-scheduler.js'
import { homePaths, readHomeConfig } from '../home/home.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { ConfigError } from '../errors.js'
import { RepositoryAccess } from './repository-access.js'
import { DaemonLog } from './daemon-log.js'
import { maintenanceLines, scrubLine, sessionLine } from './log-lines.js'
import { ByteBudget } from '../util/byte-budget.js'
import { limitStores, parseWindow, RateLimiter } from '../bandwidth/index.js'
import { setSnapshotPaths, type BackupSetConfig } from '../config/node-config.js'
import { Repository } from '../repository/repository.js'
import { restoreReport, runSession, type SessionReport } from '../session/index.js'
import { commandSource } from '../backup/command-source.js'
import { updateStandby } from '../standby/index.js'
import { BackupScheduler, type ScheduledRun } from '../schedule/index.js'
import { forgetByPolicy, retentionPolicy } from '../prune/index.js'
import { importSeed } from '../seed/index.js'
import { isAbsolute, resolve } from 'node:path'
import { KeyedLock } from '../util/keyed-lock.js'
import { davMount } from '../web/dav-mount.js'
import { SnapshotBrowser } from './snapshot-browser.js'
import { RestoreJobs } from './restore-jobs.js'
import { BackupControl } from './backup-control.js'
import { DaemonNotRunningError } from '../errors.js'
import { configChanges, reloadedConfig } from './config-changes.js'
import { DaemonSettings } from './settings-view.js'
import { DaemonPeerActions } from './peer-actions.js'
/** How often a host deletes what its owners' quarantine holds past its grace. */
const QUARANTINE_PURGE_MS = 3600_000
/** The dashboard's pack health is computed at most this often. */
const PACKS_CACHE_MS = 5000
/** Older figures than PACKS_CACHE_MS are still shown while fresh ones are read, up to this age. */
const PACKS_STALE_MS = 60_000

/**
 * A running node. `start` brings the services up in dependency order (host store, libp2p, shard
 * service, pairing, presence, API) and writes HOME/daemon.json when ready; `stop` takes them down in
 * reverse order (streams closed, LevelDB closed) and removes daemon.json. Both are idempotent.
 */
export interface DaemonInit {
  home: string
  /** Listen addresses that replace the configured ones (--listen). */
  listen?: string[]
  /** Runs a CLI command inside the daemon (the API's /cli route); given by the CLI module. */
  runCommand?: (argv: string[], io: CommandIo) => Promise<number>
  /** Whether a CLI command only reads the repository (a device with read access runs no other). */
  readsOnly?: (command: string) => boolean
  /** Told of failures the daemon survives (a peer's broken stream, say); the daemon itself prints nothing. */
  onError?: (err: unknown, where: string) => void
  /** Told of every scrub pass over what this node hosts. */
  onScrub?: (pass: ScrubPass) => void
  /** Told of every scheduled maintenance round (audits, repairs) that ran. */
  onMaintenance?: (round: MaintenanceRound) => void
  /** Told of every session the daemon ran or skipped (schedules, watch mode). */
  onSession?: (report: SessionReport) => void
  /** Told of every reload of node.json that was applied (SIGHUP, the dashboard's settings). */
  onReload?: (result: ReloadResult) => void
  /** How long the repository's keys stay unlocked after a command used them (default 10 min; 0: not kept). */
  unlockIdleMs?: number
}

/** What a reload of node.json did: the keys applied now, and those changed that take effect after a restart. */
export interface ReloadResult {
  applied: string[]
  afterRestart: string[]
}

export interface CommandIo {
  out: (line: string) => void
  err: (line: string) => void
  signal: AbortSignal
  passphrase?: string
  /** the stores of a repository on peers (absent: the repository opens its own directory stores) */
  openStores?: () => Promise<ShardStore[]>
  placement?: { onShortfall: 'reduced' | 'wait', waitSeconds: number }
  health?: HealthSettings
  /** Opens the key file, from the daemon's unlock cache when this passphrase opened it before. */
  unlock: UnlockFn
  /** A backup waits here while a restore runs. */
  pause?: (signal?: AbortSignal) => Promise<void>
  /** Writes a session report to the daemon's session log (a forwarded restore's). */
  logSession?: (report: SessionReport) => Promise<void>
  /** The CLI's standard input and output, carried over the API (backup --stdin, dump). */
  stdin?: AsyncIterable<Uint8Array>
  stdout?: NodeJS.WritableStream
}

/** What the dashboard reads of the register. */
interface RegisterNow {
  packs: PackHealthSummary
  /** The newest snapshot's time by the paths it holds (pathsKey). */
  newest: Map<string, string>
}

/** One key for a list of backed-up paths, whatever their order. */
function pathsKey (paths: string[]): string {
  return JSON.stringify([...paths].sort())
}

/** The recovery kits' readers (an owner's, or those its owners named here) are the kit escrow's business, not a peer anyone lists or revokes. */
const notKitReader = (e: TrustEntry): boolean => e.role !== 'kit'

export class Daemon {
  config?: NodeConfig
  node?: HoldfastLibp2p
  trust?: TrustList
  host?: HostStore
  private shards?: ShardService
  pairing?: PairingService
  devices?: DeviceService
  /** The kit escrow on the hosts (an owner backing up to its peers). */
  private kitEscrow?: KitEscrowService
  private readonly pipes = new CliPipes()
  fleet?: FleetService
  locator?: LocateService
  /** set when this node is a second device of an owner (holdfast device join): the owner and the role */
  private ownerOf?: { owner: string, role: 'read' | 'write' }
  presence?: Presence
  private api?: ApiServer
  private web?: WebServer
  private metrics?: DaemonMetrics
  private sessionLog?: SessionLog
  /** the catch-up of standby folders at start; stopped with the daemon */
  private readonly standbyStop = new AbortController()
  private standbyCatchUp: Promise<void> = Promise.resolve()
  /** one standby run at a time per standby folder */
  private readonly standbyLock = new KeyedLock()
  private startedAt = ''
  /** What the register said last (packs by the shards reachable now), read at most every PACKS_CACHE_MS (the dashboard polls). */
  private registerCache?: { at: number, gen: number, value: RegisterNow | null }
  /** The register's read under way, if any (one at a time). */
  private registerRead?: { gen: number, value: Promise<RegisterNow | null> }
  /** Bumped whenever what the register says may have changed (a command ran, a maintenance round). */
  private registerGen = 0
  private running = false
  private readonly unlocks: UnlockCache
  /** How the daemon opens the owner's repository for its own sessions and the dashboard. */
  readonly access: RepositoryAccess
  maintenance?: MaintenanceScheduler
  private scrubber?: Scrubber
  private purgeTimer?: ReturnType<typeof setInterval>
  /** Forwarded commands and scheduled sessions under way (a maintenance round waits for none to run). */
  private commands = 0
  /** Restores under way: backups pause meanwhile. */
  private restores = 0
  private limiter?: RateLimiter
  private slots?: ByteBudget
  backups?: BackupScheduler
  /** The dashboard's restores, and its browsing of snapshots (REST and WebDAV). */
  private restoreJobs?: RestoreJobs
  private browser?: SnapshotBrowser

  /** The recent log the dashboard shows. */
  readonly log = new DaemonLog()
  /** "Back up now", the sessions under way and their events, set edits (the dashboard's Backup page). */
  private readonly backupControl: BackupControl
  /** The configuration as the daemon started: the keys read only at start keep these values until a restart. */
  private started?: NodeConfig
  /** Keys of node.json changed since the start that take effect after a restart. */
  restartPending: string[] = []
  /** Reloads run one at a time. */
  private reloading: Promise<unknown> = Promise.resolve()

  constructor (private readonly init: DaemonInit) {
    this.unlocks = new UnlockCache({ idleMs: init.unlockIdleMs })
    this.access = new RepositoryAccess({ home: init.home, config: () => this.config!, peerStores: () => this.peerStores(), unlock: this.unlocks.unlock, idleMs: init.unlockIdleMs })
    this.backupControl = new BackupControl({
      home: init.home,
      scheduler: () => this.backups,
      sets: () => this.config?.backup.sets ?? [],
      checkAccess: async () => await this.access.passphrase(),
      applySets: async () => { await this.reload() },
      onError: (err, where) => this.onError(err, where)
    })
  }

  get peerId (): string { return this.node!.peerId.toString() }

  /** Where the dashboard and the REST API answer, when they do. */
  get guiUrl (): string | undefined { return this.web?.url }

  async start (): Promise<void> {
    if (this.running) return
    const { home } = this.init
    try {
      const config = { ...await loadNodeConfig(home) }
      if (this.init.listen != null && this.init.listen.length > 0) config.listen = this.init.listen
      this.config = config
      this.started = config
      this.restartPending = []
      this.limiter = new RateLimiter({ upload: config.bandwidth.upload, download: config.bandwidth.download, windows: config.bandwidth.windows.map(parseWindow) })
      this.slots = new ByteBudget(config.transfers)
      const privateKey = await loadIdentity(home)
      const profile = await readProfile(home)
      const trust = this.trust = await TrustList.open(home)
      this.host = await HostStore.open(home, { quotaFor: peer => { const e = trust.get(peer); return e == null || e.revoked === true ? undefined : e.quotaGranted } })
      const node = this.node = await createHoldfastNode({ privateKey, config, trust })
      // what owners put in quarantine here is deleted once its grace is over: now, then hourly
      const purge = (): void => { void this.host?.purgeQuarantine().catch(err => this.onError(err, 'quarantine purge')) }
      this.purgeTimer = setInterval(purge, QUARANTINE_PURGE_MS)
      this.purgeTimer.unref()
      purge()
      const homeConfig = await readHomeConfig(home).catch(() => undefined)
      this.ownerOf = homeConfig?.owner != null ? { owner: homeConfig.owner, role: homeConfig.role ?? 'read' } : undefined
      this.shards = new ShardService(node, {
        store: this.host,
        // the devices an owner named here read that owner's objects (device-service.ts)
        authorize: (asker, owner, op, kind) => { this.devices!.authorize(asker, owner, op, kind) },
        onError: (err, peer) => this.onError(err, `shard protocol, peer ${peer}`)
      })
      await this.shards.start()
      this.pairing = new PairingService({ node, home, trust, gate: gateOf(node), profile, inviteExpirySeconds: config.inviteExpirySeconds })
      this.pairing.addEventListener('pairing:failed', (evt) => {
        this.onError(evt.detail.error, `pairing as ${evt.detail.role}${evt.detail.peerId != null ? ` with ${evt.detail.peerId.toString()}` : ''}`)
      })
      await this.pairing.start()
      this.devices = new DeviceService({ node, home, trust, gate: gateOf(node), bundle: async (device, signal) => await this.deviceBundle(device, signal), onError: (err, what) => this.onError(err, what) })
      await this.devices.start()
      this.fleet = new FleetService({ node, home, trust, gate: gateOf(node), view: this.fleetNode(profile), onError: (err, what) => this.onError(err, what) })
      await this.fleet.start()
      // a device linked here: every host is told it may read our objects (those offline, once they are back)
      this.pairing.addEventListener('pairing:completed', (evt) => {
        if (evt.detail.entry.deviceOf === node.peerId.toString()) void this.devices?.tellHosts().catch(err => this.onError(err, 'telling hosts of a device'))
      })
      // where a trusted peer is, asked of the others when neither its known addresses nor the DHT find it
      this.locator = new LocateService({ node, gate: gateOf(node), identify: node.services.identify, onError: (err, what) => this.onError(err, what) })
      await this.locator.start()
      const locator = this.locator
      this.presence = new Presence({ node, trust, reconnect: config.reconnect, bootstrap: config.bootstrap, dht: config.dht, locate: async (peer, options) => await locator.locate(peer, options) })
      this.presence.addEventListener('peer:online', (evt) => {
        if (this.devices != null && this.trust!.list({ includeRevoked: true }).some(e => e.deviceOf === node.peerId.toString())) void this.devices.tellHosts().catch(err => this.onError(err, 'telling hosts of a device'))
        this.kitEscrow?.peerOnline(evt.detail.peerId.toString())
      })
      await this.presence.start()
      // the recovery kits of a node backing up to its peers: the current key file, sealed for them, on every host
      if (homeConfig?.peers === true && this.ownerOf == null) {
        this.kitEscrow = new KitEscrowService({
          home,
          self: node.peerId.toString(),
          site: profile.site,
          trust,
          stores: () => this.peerStores(),
          tellHosts: async () => await this.devices!.tellHosts(),
          onError: (err, what) => this.onError(err, what)
        })
        await this.kitEscrow.start()
      }
      this.api = new ApiServer({ token: await newApiToken(home), socketPath: apiSocketPath(home) })
      this.routes(this.api)
      await this.api.start()
      this.startedAt = new Date().toISOString()
      this.sessionLog = new SessionLog(home, { cache: true })
      this.metrics = new DaemonMetrics(this.metricsSource())
      this.restoreJobs = new RestoreJobs({
        home,
        open: async signal => await this.access.open(signal),
        begin: () => {
          this.commands++
          this.restores++
          return () => { this.commands--; this.restores--; this.invalidateRegister() }
        },
        log: async report => await this.sessionLog!.append(report),
        onError: (err, where) => this.onError(err, where)
      })
      this.browser = new SnapshotBrowser({
        open: async signal => await this.access.open(signal),
        check: async () => { await this.access.passphrase() },
        setOf: async () => new Map((await this.sessionLog!.list({ limit: 1000 })).flatMap(r => r.kind !== 'restore' && r.snapshot != null && r.set != null ? [[r.snapshot, r.set] as const] : [])),
        restores: this.restoreJobs
      })
      if (config.gui.enabled) {
        const web = new WebServer({ listen: config.gui.listen, apiKey: await readApiToken(home), routes: webRoutes({ daemon: this.view(profile), access: { state: async () => await this.access.state(), unlock: async p => await this.access.unlockWith(p), lock: () => { this.access.lock(); void this.browser?.close() } }, snapshots: this.browser, backup: this.backupControl, settings: this.settingsView(profile.name), peerActions: this.peerActionsView(), fleet: { members: async signal => await this.fleet!.members(signal), sessions: async (peer, limit, signal) => await this.fleet!.sessions(peer, limit, signal), run: async (peer, action, set, signal) => await this.fleet!.run(peer, action, set, signal) }, keys: this.keyView() }), mounts: this.webMounts(), metrics: this.metrics, ...await guiSecurity(home, config.gui) })
        try {
          await web.start()
          this.web = web
        } catch (err) {
          // a port taken (another daemon, another program) costs the dashboard, not the node
          if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' && (err as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL') throw err
          this.onError(new ConfigError(`the dashboard cannot listen on ${config.gui.listen} (${(err as Error).message}): set gui.listen to a free port`), 'dashboard')
        }
      }
      this.startScrubber(config)
      await this.startMaintenance(config)
      this.running = true
      await this.restartBackups(config)
      // standby folders that lag behind their set's latest snapshot (the daemon was off) catch up now
      // (a failure there, say the register still held by a command that ends as the daemon starts, is tried again a few times)
      this.standbyCatchUp = Promise.all(config.backup.sets.filter(s => s.standby != null).map(async s => {
        for (let attempt = 0; attempt < 5 && !this.standbyStop.signal.aborted; attempt++) {
          if (await this.followStandby(s, this.standbyStop.signal)) return
          await sleep(2_000, undefined, { signal: this.standbyStop.signal }).catch(() => {})
        }
      })).then(() => {})
      this.log.add('info', `node ${node.peerId.toString()} started, listening on ${node.getMultiaddrs().map(String).join(', ') || '(no addresses)'}${this.web != null ? `; dashboard at ${this.web.url}` : ''}`)
      await writeDaemonInfo(home, {
        pid: process.pid,
        peerId: node.peerId.toString(),
        addresses: node.getMultiaddrs().map(String),
        api: this.api.socketPath,
        ...(this.web != null ? { gui: this.web.url } : {}),
        started: new Date().toISOString()
      })
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  /**
   * Reads node.json again and applies it without a restart: bandwidth limits and windows (the limiter
   * in place), parallel transfers, retention, notifications and the rest of `backup` (read by each
   * session), vault, placement, scrub (restarted), maintenance and locks (the scheduler restarted once
   * idle), the backup sets (restartBackups). The keys read only at start (config-changes.ts) keep their
   * running values and are reported as taking effect after a restart. An invalid file changes nothing:
   * its ConfigError (the texts of a start) goes to onError and to the caller.
   */
  async reload (): Promise<ReloadResult> {
    const run = this.reloading.then(async () => await this.reloadNow(), async () => await this.reloadNow())
    this.reloading = run.catch(() => {})
    return await run
  }

  private async reloadNow (): Promise<ReloadResult> {
    const running = this.config
    const started = this.started
    if (!this.running || running == null || started == null) throw new DaemonNotRunningError('the daemon is not running')
    let next: NodeConfig
    try {
      next = { ...await loadNodeConfig(this.init.home) }
    } catch (err) {
      this.onError(err, 'reload')
      throw err
    }
    if (this.init.listen != null && this.init.listen.length > 0) next.listen = this.init.listen
    const config = reloadedConfig(started, next)
    const { live } = configChanges(running, config)
    this.restartPending = configChanges(started, next).restart
    this.config = config
    const changed = (key: string): boolean => live.includes(key)
    const step = async (what: string, fn: () => Promise<void> | void): Promise<void> => {
      try { await fn() } catch (err) { this.onError(err, `reload: ${what}`) }
    }
    if (changed('bandwidth')) await step('bandwidth', () => this.limiter?.setLimits({ upload: config.bandwidth.upload, download: config.bandwidth.download, windows: config.bandwidth.windows.map(parseWindow) }))
    if (changed('transfers')) this.slots = new ByteBudget(config.transfers)
    if (changed('scrub')) {
      await step('scrub', async () => {
        await this.scrubber?.stop()
        this.scrubber = undefined
        if (this.running) this.startScrubber(config)
      })
    }
    if (changed('maintenance') || changed('locks')) {
      await step('maintenance', async () => {
        const old = this.maintenance
        await old?.idle()
        await old?.stop()
        this.maintenance = undefined
        if (this.running) await this.startMaintenance(config)
      })
    }
    if (changed('backup.sets') || changed('backup.retryBaseSeconds')) await step('backup sets', async () => { if (this.running) await this.restartBackups(config) })
    const result = { applied: live, afterRestart: [...this.restartPending] }
    this.log.add('info', `node.json reloaded; applied now: ${live.join(', ') || 'nothing changed'}${result.afterRestart.length > 0 ? `; after a restart: ${result.afterRestart.join(', ')}` : ''}`)
    this.init.onReload?.(result)
    return result
  }

  /** The host's background re-hash of what it keeps for others, when the config enables it. */
  private startScrubber (config: NodeConfig): void {
    if (!config.scrub.enabled || this.host == null) return
    this.scrubber = new Scrubber({
      store: this.host,
      periodMs: config.scrub.periodSeconds * 1000,
      bytesPerSecond: config.scrub.bytesPerSecond,
      onPass: pass => this.onScrub(pass),
      onError: err => this.onError(err, 'scrub')
    })
    this.scrubber.start()
  }

  /** The owner's scheduled audits and repairs, for a repository whose shards go to peers. */
  private async startMaintenance (config: NodeConfig): Promise<void> {
    const home = this.init.home
    if ((await readHomeConfig(home).catch(() => undefined))?.peers !== true) return
    // a device's scheduled audits and repairs would repeat its owner's: it runs them only when told (write role)
    if (this.ownerOf != null) return
    this.maintenance = new MaintenanceScheduler({
      home,
      settings: config.maintenance,
      locks: config.locks,
      openStores: () => this.peerStores(),
      busy: () => this.commands > 0,
      onRound: round => { this.invalidateRegister(); this.recordRound(round); this.onMaintenance(round) },
      onError: err => this.onError(err, 'scheduled maintenance')
    })
    this.maintenance.start()
  }

  async stop (): Promise<void> {
    this.running = false
    this.standbyStop.abort()
    await this.standbyCatchUp
    await this.reloading.catch(() => {}) // a reload under way ends first (it starts nothing once not running)
    clearInterval(this.purgeTimer)
    this.unlocks.clear()
    this.access.lock()
    const steps: Array<[string, (() => Promise<void>) | undefined]> = [
      ['backup scheduler', this.backups != null ? async () => await this.backups!.stop() : undefined],
      ['backup control', async () => await this.backupControl.stop()],
      ['maintenance', this.maintenance != null ? async () => await this.maintenance!.stop() : undefined],
      ['scrub', this.scrubber != null ? async () => await this.scrubber!.stop() : undefined],
      ['restores', this.restoreJobs != null ? async () => await this.restoreJobs!.stop() : undefined],
      ['snapshot browser', this.browser != null ? async () => await this.browser!.close() : undefined],
      ['dashboard', this.web != null ? async () => await this.web!.stop() : undefined],
      ['api', this.api != null ? async () => await this.api!.stop() : undefined],
      ['kit escrow', this.kitEscrow != null ? async () => await this.kitEscrow!.stop() : undefined],
      ['presence', this.presence != null ? async () => await this.presence!.stop() : undefined],
      ['locate', this.locator != null ? async () => await this.locator!.stop() : undefined],
      ['fleet', this.fleet != null ? async () => await this.fleet!.stop() : undefined],
      ['devices', this.devices != null ? async () => await this.devices!.stop() : undefined],
      ['pairing', this.pairing != null ? async () => await this.pairing!.stop() : undefined],
      ['shard service', this.shards != null ? async () => await this.shards!.stop() : undefined],
      ['libp2p', this.node != null ? async () => await this.node!.stop() : undefined],
      ['host store', this.host != null ? async () => await this.host!.close() : undefined],
      ['trust list', this.trust != null ? async () => await this.trust!.flush() : undefined]
    ]
    for (const [what, step] of steps) {
      if (step == null) continue
      try { await step() } catch (err) { this.onError(err, `stopping ${what}`) }
    }
    this.unlocks.clear() // again: a command that was still unlocking when the API stopped
    this.api = undefined
    this.web = undefined
    this.backups = undefined
    this.restoreJobs = undefined
    this.browser = undefined
    this.maintenance = undefined
    this.scrubber = undefined
    this.presence = undefined
    this.pairing = undefined
    this.devices = undefined
    this.kitEscrow = undefined
    this.fleet = undefined
    this.locator = undefined
    this.shards = undefined
    this.node = undefined
    this.host = undefined
    await removeDaemonInfo(this.init.home).catch(() => {})
  }

  /**
   * One store per trusted peer (online ones first): where a peers repository puts its shards. A peer
   * whose known addresses fail is looked for again (presence.reach: the DHT) before its store gives up.
   */
  peerStores (only?: string[]): ShardStore[] {
    const node = this.node!
    const ledger = this.host!.ledger
    const presence = this.presence!
    const dialer = reachingDialer({ node, reach: async (peer, options) => { await presence.reach(peer, options) } })
    // hosts only: a device (ours, or another owner's that reads through us) keeps nothing of ours
    const device = this.ownerOf
    // a device reads from its owner's hosts, not from the owner
    const peers = this.trust!.hosts().filter(e => e.peerId !== device?.owner && (only == null || only.includes(e.peerId)))
    const isOnline = (id: string): boolean => presence.isOnline(id)
    peers.sort((a, b) => Number(isOnline(b.peerId)) - Number(isOnline(a.peerId)))
    return limitStores(peers.map(e => new PeerShardStore(dialer, peerIdFromString(e.peerId), {
      ledger,
      online: () => isOnline(e.peerId),
      // last seen by presence; a peer never seen since pairing counts from the pairing
      lastSeen: () => { const t = this.trust?.get(e.peerId); const at = Date.parse(t?.lastSeen ?? t?.addedAt ?? ''); return Number.isFinite(at) ? at : undefined },
      // how long it is usually away, and how long this node has watched it absent (pack health's overdue)
      rhythm: () => ({ usualAbsenceMs: usualAbsence(this.trust?.get(e.peerId)?.rhythm, Date.now()), watchedAbsenceMs: presence.watchedAbsence(e.peerId) }),
      // the quota the peer granted at pairing, less what the ledger says we keep there
      room: () => { const t = this.trust?.get(e.peerId); return t == null ? undefined : Math.max(0, t.quotaReceived - ledger.storedByPeer(e.peerId).bytes) },
      label: e.name,
      site: e.site,
      ...(device != null ? { as: device.owner } : {})
    })), this.limiter, this.slots).map(store => device?.role === 'read' ? new ReadOnlyStore(store, 'this node is a device with read access to its owner\'s repository') : store)
  }

  /** A one-time code for a second device of this node's owner (device link). */
  private async linkDevice (name: string | undefined, expirySeconds: number | undefined, role: Exclude<DeviceRole, 'kit'> = 'read'): Promise<{ code: string }> {
    const homeConfig = await readHomeConfig(this.init.home).catch(() => undefined)
    if (homeConfig?.peers !== true || homeConfig.owner != null) throw new RoleError('a device links to the node that backs up to its peers (its own repository), not to a device or a node without one')
    const code = await this.pairing!.createInvite({ quota: 0, device: role, name, expirySeconds: expirySeconds ?? this.config?.inviteExpirySeconds })
    return { code }
  }

  /** This node's devices, revoked ones too. */
  private deviceRows (): DeviceRow[] {
    const self = this.peerId
    return this.trust!.list({ includeRevoked: true }).filter(e => e.deviceOf === self && notKitReader(e))
      .map(e => ({ peerId: e.peerId, name: e.name, role: e.role ?? 'read', addedAt: e.addedAt, online: e.revoked !== true && this.presence?.isOnline(e.peerId) === true, revoked: e.revoked === true, hostsTold: this.devices!.hostsTold(e.peerId) }))
  }

  /** The dashboard's keys and devices (key-routes.ts). */
  private keyView (): KeyView {
    const home = this.init.home
    const changed = (c: KeyChange): KeyChange => {
      this.log.add('info', `the repository's keys changed (generation ${c.generation})`)
      // the recovery kits open with the keys the hosts keep for them: those follow now
      void this.kitEscrow?.publish().catch(err => this.onError(err, 'keeping the kit escrow on the hosts'))
      return c
    }
    return {
      list: async () => await listKeys(home),
      add: async (passphrase, newPassphrase, label) => changed(await addHomeKey(home, passphrase, newPassphrase, { label })),
      remove: async (passphrase, id) => changed(await removeHomeKey(home, passphrase, id)),
      passwd: async (passphrase, newPassphrase) => changed(await changeHomePassphrase(home, passphrase, newPassphrase)),
      rotate: async passphrase => changed(await rotateHomeKeys(home, passphrase)),
      devices: async () => this.deviceRows(),
      link: async (name, expirySeconds) => await this.linkDevice(name, expirySeconds),
      revokeDevice: async peerId => {
        const e = await this.devices!.revoke(peerId)
        return this.deviceRows().find(d => d.peerId === e.peerId)!
      }
    }
  }

  /** What this node shows the admins it granted the role, and how it runs what they start (fleet-node.ts). */
  private fleetNode (profile: { name: string, site: string }): FleetNode {
    return new FleetNode({
      view: this.view(profile),
      profile: () => profile,
      sets: () => this.config?.backup.sets.map(s => s.name) ?? [],
      backupNow: async set => await this.backupControl.backupNow(set),
      running: id => this.backupControl.runs().some(r => r.id === id),
      command: async argv => {
        const lines: string[] = []
        const passphrase = await this.access.passphrase()
        await this.maintenance?.idle()
        this.commands++
        try {
          const code = await this.runForwarded(argv, passphrase, e => { const m = e as { out?: string, err?: string }; lines.push(m.out ?? m.err ?? '') }, this.standbyStop.signal)
          this.log.add(code === 0 ? 'info' : 'warning', `${argv[0]} started by an admin ended with exit code ${code}`)
          return { code, lines: lines.slice(-20) }
        } finally {
          this.commands--
          this.invalidateRegister()
        }
      },
      onError: (err, what) => this.onError(err, what)
    })
  }

  /** A copy of the repository's sealed config from the first host that has one whose bytes hash to its name. */
  private async configFromHosts (signal: AbortSignal): Promise<Buffer> {
    const problems: string[] = []
    for (const store of this.peerStores()) {
      try {
        for await (const name of store.list('config', { signal })) {
          const bytes = await store.get('config', name, { signal })
          if (hashName(bytes) === name) return Buffer.from(bytes)
          problems.push(`${store.label ?? store.id}: a corrupt copy`)
        }
      } catch (err) {
        checkAbort(signal)
        problems.push(`${store.label ?? store.id}: ${(err as Error).message}`)
      }
    }
    throw new StoreUnavailableError(`no host gave the repository's config${problems.length > 0 ? `: ${problems.slice(0, 4).join('; ')}` : ''}`)
  }

  /** Owner side: what one of this node's devices needs to read the repository (device link, then join). */
  private async deviceBundle (device: TrustEntry, signal: AbortSignal): Promise<DeviceBundle> {
    const home = this.init.home
    const homeConfig = await readHomeConfig(home)
    if (homeConfig.peers !== true || homeConfig.owner != null) throw new RoleError('this node keeps no repository on peers of its own: a device links to the node that backs up')
    const paths = homePaths(home)
    const keyFile = await readFile(paths.key)
    // the sealed config: the home's copy, or (a recovered home keeps none) a copy from the hosts, checked against its name
    const repoConfig = await readFile(paths.repoConfig).catch(async () => await this.configFromHosts(signal))
    checkAbort(signal)
    const recordKey = await loadNodeRecordKey(home, homeConfig.repository)
    if (recordKey == null) throw new RoleError('this home has no node identity')
    const profile = await readProfile(home)
    const hosts = this.trust!.hosts().filter(e => e.peerId !== device.peerId).slice(0, MAX_BUNDLE_HOSTS)
      .map(e => ({ peerId: e.peerId, name: e.name, site: e.site, addresses: e.addresses.slice(0, 16) }))
    return { t: 'bundle', repository: homeConfig.repository, keyFile, repoConfig, recordKey, name: profile.name, site: profile.site, role: device.role ?? 'read', hosts }
  }

  private newBackupScheduler (config: NodeConfig): BackupScheduler {
    return new BackupScheduler({
      home: this.init.home,
      sets: config.backup.sets,
      run: async (set, run, signal) => await this.runSet(set, run, signal),
      retryBaseMs: config.backup.retryBaseSeconds * 1000,
      onSession: report => { this.metrics?.session(report); this.onSession(report) },
      onError: (err, where) => this.onError(err, where)
    })
  }

  /**
   * Stops the backup scheduler (a session under way is stopped) and starts one with the sets of `config`
   * (at start, and on a reload that changed them: SIGHUP, the dashboard's set edits and settings).
   */
  private async restartBackups (config: NodeConfig): Promise<void> {
    const old = this.backups
    this.backups = undefined
    await old?.stop()
    if (!this.running || config.backup.sets.length === 0) return
    const backups = this.newBackupScheduler(config)
    this.backups = backups
    await backups.start()
  }

  /** Holds a backup while a restore runs (a restore takes priority). */
  private readonly pauseForRestore = async (signal?: AbortSignal): Promise<void> => {
    while (this.restores > 0) await sleep(200, undefined, { signal })
  }

  /**
   * One scheduled, catch-up, retry or watch session of a set: unattended (the passphrase from
   * backup.passphraseFile or $HOLDFAST_PASSPHRASE), paused while restores run, then the retention policy
   * of the node config.
   */
  private async runSet (set: BackupSetConfig, run: ScheduledRun, signal: AbortSignal): Promise<SessionReport> {
    const { trigger } = run
    const home = this.init.home
    const config = this.config!
    await this.maintenance?.idle()
    this.commands++
    try {
      const open = async (sig?: AbortSignal): Promise<Repository> => await this.access.open(sig)
      // tracked for the dashboard (progress, cancel) and pinged as the set says
      const report = await this.backupControl.session(set, run, signal, async session => (await runSession({
        home,
        id: session.id,
        backup: config.backup,
        paths: setSnapshotPaths(set),
        set: set.name,
        exclude: set.exclude,
        trigger,
        // a set that is a command's output: the command starts when the backup does (after the pre-hook)
        ...(set.command != null ? { source: async () => commandSource(set.command!, { name: set.name, signal: session.signal }) } : {}),
        ...(run.due != null ? { due: run.due.toISOString() } : {}),
        ...(run.attempt != null ? { attempt: run.attempt } : {}),
        ...(run.note != null ? { note: run.note } : {}),
        ...(run.retryAt != null ? { retryAt: run.retryAt } : {}),
        open,
        signal: session.signal,
        onProgress: session.onProgress,
        extra: { pause: this.pauseForRestore, ...(trigger === 'watch' ? { minAgeMs: set.minAgeSeconds * 1000 } : {}) }
      })).report)
      const policy = retentionPolicy(config.retention)
      if (policy != null && report.snapshot != null) {
        try {
          const repo = await open(signal)
          try {
            await forgetByPolicy(repo, policy, { prune: config.retention.prune, signal })
          } finally {
            await repo.close()
          }
        } catch (err) {
          this.onError(err, `retention after set ${set.name}`)
        }
      }
      if (set.standby != null && report.snapshot != null) await this.followStandby(set, signal)
      return report
    } finally {
      this.commands--
      this.invalidateRegister() // a command may have changed the packs or their places
    }
  }

  /**
   * Brings the set's standby folder to its latest snapshot (after a session that saved one, and at start
   * when it lags behind), logged as a restore session; a failure is logged and waits for the next one.
   */
  private async followStandby (set: BackupSetConfig, signal: AbortSignal): Promise<boolean> {
    const folder = set.standby
    if (folder == null) return true
    // one at a time per folder (the catch-up at start and the run after a backup may meet): the one that
    // waits then applies the snapshot that is latest when its turn comes
    return await this.standbyLock.run(resolve(folder), async () => await this.followStandbyNow(set, folder, signal))
  }

  private async followStandbyNow (set: BackupSetConfig, folder: string, signal: AbortSignal): Promise<boolean> {
    const started = new Date().toISOString()
    const paths = setSnapshotPaths(set)
    this.restores++
    try {
      const repo = await this.access.open(signal)
      try {
        const res = await updateStandby(repo, folder, { paths, signal })
        if (!res.upToDate) await this.sessionLog?.append(restoreReport({ id: SessionLog.newId(), trigger: 'schedule', started, ended: new Date().toISOString(), snapshot: res.snapshot, paths, target: folder, result: res.restored }))
      } finally {
        await repo.close()
      }
      return true
    } catch (err) {
      // nothing to follow yet (no snapshot of the set), or the daemon is stopping
      if (signal.aborted || (err as Error).name === 'NoSuchSnapshotError') return true
      await this.sessionLog?.append(restoreReport({ id: SessionLog.newId(), trigger: 'schedule', started, ended: new Date().toISOString(), snapshot: '', paths, target: folder, error: err as Error })).catch(() => {})
      this.onError(err, `standby of set ${set.name}`)
      return false
    } finally {
      this.restores--
    }
  }

  private onError (err: unknown, where: string): void {
    this.log.add('error', `${where}: ${(err as Error)?.message ?? String(err)}`)
    this.init.onError?.(err, where)
  }

  private onSession (report: SessionReport): void {
    this.log.add(report.status === 'failed' ? 'error' : report.status === 'partial' ? 'warning' : 'info', sessionLine(report))
    this.init.onSession?.(report)
  }

  private onMaintenance (round: MaintenanceRound): void {
    for (const line of maintenanceLines(round)) this.log.add(line.level, line.message)
    this.init.onMaintenance?.(round)
  }

  private onScrub (pass: ScrubPass): void {
    const line = scrubLine(pass)
    if (line != null) this.log.add('warning', line)
    this.init.onScrub?.(pass)
  }

  /** What the web face serves outside /api/v1 (the WebDAV view). */
  private webMounts (): WebMount[] {
    return this.browser != null ? [davMount(this.browser)] : []
  }

  /** The peers as the API and the metrics show them. */
  /** The peers that are hosts (devices are listed by holdfast device list), for the dashboard and metrics. */
  private peerViews (): Peer[] {
    const ledger = this.host!.ledger
    return this.trust!.list({ includeRevoked: true }).filter(e => e.deviceOf == null).map(e => {
      const connections = this.node!.getConnections(peerIdFromString(e.peerId))
      const online = this.presence?.isOnline(e.peerId) === true
      return {
        peerId: e.peerId,
        name: e.name,
        site: e.site,
        online,
        via: !online || connections.length === 0 ? null : connections.some(c => !c.remoteAddr.toString().includes('/p2p-circuit')) ? 'direct' : 'relay',
        lastSeen: e.lastSeen ?? null,
        revoked: e.revoked === true,
        quotaGranted: e.quotaGranted,
        quotaReceived: e.quotaReceived,
        storedForThem: this.host!.hostedFor(e.peerId).bytes,
        storesForMe: ledger.storedByPeer(e.peerId).bytes
      }
    })
  }

  /** What the REST API reads. */
  private view (profile: { name: string, site: string }): DaemonView {
    return {
      status: () => {
        const peers = this.peerViews().filter(p => !p.revoked)
        return { peerId: this.peerId, name: profile.name, site: profile.site, version: VERSION, addresses: this.node!.getMultiaddrs().map(String), startedAt: this.startedAt, peers: peers.length, peersOnline: peers.filter(p => p.online).length }
      },
      peers: () => this.peerViews(),
      log: options => this.log.list(options),
      packs: async () => await this.packsNow(),
      sessions: async options => await this.sessionLog!.list(options),
      sets: async () => {
        const next = this.backups?.nextRuns() ?? new Map<string, Date>()
        const reports = (await this.sessionLog!.list({ limit: 1000 })).filter(r => r.kind !== 'restore')
        const sets = this.config!.backup.sets
        // no session of a set in the log (a home recovered from the kit, say): its newest snapshot counts
        const register = sets.some(set => !reports.some(r => r.set === set.name && (r.status === 'ok' || r.status === 'partial'))) ? await this.registerNow() : null
        return sets.map(set => {
          const mine = reports.filter(r => r.set === set.name)
          const ok = mine.find(r => r.status === 'ok' || r.status === 'partial')
          const snapshotTime = register?.newest.get(pathsKey(set.paths))
          return {
            name: set.name,
            paths: set.paths,
            schedule: set.schedule !== '' ? set.schedule : null,
            watch: set.watch,
            exclude: set.exclude,
            ping: set.ping,
            ...(set.standby != null ? { standby: set.standby } : {}),
            ...(set.command != null ? { command: set.command } : {}),
            nextRun: next.get(set.name)?.toISOString() ?? null,
            lastSession: mine[0] ?? null,
            lastSuccess: ok?.ended ?? snapshotTime ?? null
          }
        })
      }
    }
  }

  /** The dashboard's settings (settings-view.ts): changed through node.json, then reloaded. */
  private settingsView (node: string): DaemonSettings {
    return new DaemonSettings({ home: this.init.home, config: () => this.config!, limits: () => this.limiter!.current(), afterRestart: () => this.restartPending, reload: async () => await this.reload(), node })
  }

  /** Pairing from the dashboard (peer-actions.ts). */
  private peerActionsView (): DaemonPeerActions {
    return new DaemonPeerActions({ pairing: () => this.pairing!, trust: () => this.trust!, presence: () => this.presence, peers: () => this.peerViews(), inviteExpirySeconds: () => this.config!.inviteExpirySeconds })
  }

  /** The packs of this node's repository on its peers by the shards reachable now; null when not known. */
  private async packsNow (): Promise<PackHealthSummary | null> {
    return (await this.registerNow())?.packs ?? null
  }

  /**
   * What the register says now (computed at most every PACKS_CACHE_MS): the packs by the shards
   * reachable now, and the newest snapshot of each list of paths (a home recovered from the kit, on
   * a new machine, has the snapshots but no session log); null when not known.
   */
  private async registerNow (): Promise<RegisterNow | null> {
    const cached = this.registerCache
    const age = cached != null && cached.gen === this.registerGen ? Date.now() - cached.at : Infinity
    if (cached != null && age < PACKS_CACHE_MS) return cached.value
    if (cached != null && age < PACKS_STALE_MS) {
      // a page load does not wait for the register: the last figures now, fresh ones for the next call
      void this.readRegisterOnce()
      return cached.value
    }
    return await this.readRegisterOnce()
  }

  /** Reads the register (one read at a time) and keeps what it says, unless it changed meanwhile. */
  private async readRegisterOnce (): Promise<RegisterNow | null> {
    const gen = this.registerGen
    if (this.registerRead?.gen === gen) return await this.registerRead.value
    const value = this.readRegister().then(v => {
      if (this.registerGen === gen) this.registerCache = { at: Date.now(), gen, value: v }
      return v
    })
    this.registerRead = { gen, value }
    void value.finally(() => { if (this.registerRead?.value === value) this.registerRead = undefined })
    return await value
  }

  /** After a command or a maintenance round: the next call reads the register again, and waits for it. */
  private invalidateRegister (): void {
    this.registerGen++
    this.registerCache = undefined
  }

  private async readRegister (): Promise<RegisterNow | null> {
    if ((await readHomeConfig(this.init.home).catch(() => undefined))?.peers !== true || this.config == null) return null
    let repo: Repository | undefined
    try {
      repo = await Repository.openForMaintenance(this.init.home, { stores: this.peerStores() })
      const packs = await packsNow(repo, healthSettings(this.config.maintenance))
      const newest = new Map<string, string>()
      for (const { snapshot } of await repo.register.snapshots()) {
        const key = pathsKey(snapshot.paths)
        const seen = newest.get(key)
        if (seen == null || snapshot.time > seen) newest.set(key, snapshot.time)
      }
      return { packs, newest }
    } catch {
      return null // the register is not built yet, or another process holds it
    } finally {
      await repo?.close().catch(() => {})
    }
  }

  private metricsSource (): MetricsSource {
    return {
      peers: () => this.peerViews().filter(p => !p.revoked).map(p => ({ name: p.name, up: p.online, lastSeen: p.lastSeen ?? undefined, hostedBytes: p.storedForThem, storedBytes: p.storesForMe })),
      newestSessions: async () => {
        // one read of the log: the newest report of each set, and the newest that succeeded
        const last = new Map<string, SessionReport>()
        const ok = new Map<string, SessionReport>()
        for (const r of await this.sessionLog!.list({ limit: 1000 })) {
          if (r.kind === 'restore') continue
          const set = r.set ?? ''
          if (r.status !== 'skipped' && !last.has(set)) last.set(set, r)
          if ((r.status === 'ok' || r.status === 'partial') && !ok.has(set)) ok.set(set, r)
        }
        return { last: [...last.values()], ok: [...ok.values()] }
      },
      packs: async () => await this.packsNow()
    }
  }

  private recordRound (round: MaintenanceRound): void {
    if (this.metrics == null) return
    const names = new Map(this.trust!.list({ includeRevoked: true }).map(e => [`peer:${e.peerId}`, e.name]))
    if (round.audit != null) this.metrics.audit(round.audit, store => names.get(store) ?? store)
    if (round.repair != null) this.metrics.repair(round.repair)
  }

  private routes (api: ApiServer): void {
    api.route('/status', async () => ({
      peerId: this.peerId,
      addresses: this.node!.getMultiaddrs().map(String),
      peers: this.trust!.list().filter(notKitReader).length,
      relays: this.node!.services.relayReservations?.status() ?? []
    }))
    api.route('/peers/invite', async ({ body }) => {
      const quota = sizeField(body.quota, 'quota')
      const code = await this.pairing!.createInvite({ quota, name: optString(body.name, 'name'), expirySeconds: optNumber(body.expirySeconds, 'expirySeconds') ?? this.config?.inviteExpirySeconds })
      return { code }
    })
    api.route('/peers/accept', async ({ body, signal }) => {
      if (typeof body.code !== 'string') throw new UsageError('an invite code is needed')
      const entry = await this.pairing!.acceptInvite(body.code.trim(), { quota: sizeField(body.quota, 'quota'), name: optString(body.name, 'name'), signal })
      this.presence?.retryNow(entry.peerId)
      return entry
    })
    api.route('/devices/link', async ({ body }) => {
      const role = body.role ?? 'read'
      if (role !== 'read' && role !== 'write') throw new UsageError('a device\'s role: read or write')
      return await this.linkDevice(optString(body.name, 'name'), optNumber(body.expirySeconds, 'expirySeconds'), role)
    })
    // after a key change and before a kit is made: the hosts get the current key file for the kits now
    api.route('/keys/publish', async ({ signal }) => {
      if (this.kitEscrow == null) throw new RoleError('this node keeps no kit escrow: its repository is not on its peers, or it is a device')
      const escrow = await this.kitEscrow.publish({ signal })
      const told = await this.devices!.tellHosts()
      return { ...escrow, readerPending: told.pending }
    })
    api.route('/devices/list', async () => {
      return this.deviceRows()
    })
    api.route('/devices/revoke', async ({ body }) => {
      if (typeof body.device !== 'string' || body.device === '') throw new UsageError('which device? (a peer ID or name)')
      const entry = this.devices!.devices().find(e => e.peerId === body.device || e.name === body.device)
      if (entry == null) throw new UsageError(`no device ${String(body.device)} (holdfast device list)`)
      return await this.devices!.revoke(entry.peerId)
    })
    api.route('/peers/grant', async ({ body }) => {
      if (body.role !== 'admin') throw new UsageError('the role to grant: admin')
      const entry = this.trust!.hosts().find(e => e.peerId === body.peer || e.name === body.peer)
      if (entry == null) throw new UsageError(`no trusted peer ${String(body.peer)}`)
      return await this.trust!.setAdmin(entry.peerId, body.grant !== false)
    })
    api.route('/fleet/list', async ({ signal }) => await this.fleet!.members(signal))
    api.route('/fleet/sessions', async ({ body, signal }) => await this.fleet!.sessions(String(body.peer), optNumber(body.limit, 'limit') ?? 20, signal))
    api.route('/fleet/run', async ({ body, signal }) => {
      if (!FLEET_ACTIONS.includes(body.action as FleetAction)) throw new UsageError('the action to run: backup, audit or repair')
      return await this.fleet!.run(String(body.peer), body.action as FleetAction, optString(body.set, 'set'), signal)
    })
    api.route('/peers/list', async () => {
      const ledger = this.host!.ledger
      const relays = new Map((this.node!.services.relayReservations?.status() ?? []).map(r => [r.relay, r]))
      return this.trust!.list({ includeRevoked: true }).filter(notKitReader).map(e => ({
        ...e,
        online: this.presence?.isOnline(e.peerId) === true,
        onlineVia: this.presence?.status(e.peerId)?.via,
        connections: this.node!.getConnections(peerIdFromString(e.peerId)).map(c => c.remoteAddr.toString()),
        relayReservation: relays.get(e.peerId),
        storesForMe: ledger.storedByPeer(e.peerId).bytes,
        storedForThem: this.host!.hostedFor(e.peerId).bytes
      }))
    })
    api.route('/peers/revoke', async ({ body }) => {
      if (typeof body.peer !== 'string' || body.peer === '') throw new UsageError('which peer? (a peer ID or name)')
      const entry = this.trust!.list().filter(notKitReader).find(e => e.peerId === body.peer || e.name === body.peer)
      if (entry == null) throw new UsageError(`no trusted peer ${String(body.peer)}`)
      return await this.trust!.revoke(entry.peerId)
    })
    api.route('/seed/import', async ({ body, signal }) => {
      if (typeof body.dir !== 'string' || !isAbsolute(body.dir)) throw new UsageError('seed import needs an absolute directory')
      const host = this.host!
      return await importSeed(body.dir, {
        self: this.peerId,
        trusts: peer => this.trust!.isTrusted(peer),
        has: async (owner, name) => await host.has(owner, 'shard', name, { signal }),
        put: async (owner, name, data) => { await host.put(owner, 'shard', name, data, { signal }) }
      }, { signal })
    })
    api.rawRoute('/pipe/stdin', this.pipes.route('stdin'))
    api.rawRoute('/pipe/stdout', this.pipes.route('stdout'))
    api.route('/cli', async ({ body, signal, emit }) => {
      if (!Array.isArray(body.argv) || !body.argv.every((a: unknown) => typeof a === 'string')) throw new UsageError('argv must be a list of strings')
      if (this.init.runCommand == null) throw new UsageError('this daemon runs no commands')
      if (this.ownerOf?.role === 'read' && this.init.readsOnly?.(String(body.argv[0])) !== true) {
        throw new RoleError(`this node is a device with ${this.ownerOf.role} access to its owner's repository: it lists, browses and restores; ${String(body.argv[0])} is the owner's to run`)
      }
      // a maintenance round under way finishes first (rounds are short); none starts while commands run
      await this.maintenance?.idle()
      this.commands++
      const restore = body.argv[0] === 'restore'
      if (restore) this.restores++
      const started = Date.now()
      // the CLI's standard input or output, when the command reads or writes it (cli-pipes.ts)
      const pipe = typeof body.pipe === 'string' ? body.pipe : undefined
      const stdin = pipe != null && body.stdin === true ? await this.pipes.take('stdin', pipe, signal) : undefined
      const stdout = pipe != null && body.stdout === true ? await this.pipes.take('stdout', pipe, signal) : undefined
      try {
        const code = await this.runForwarded(body.argv, body.passphrase, emit, signal, { stdin: stdin?.stream as IncomingMessage | undefined, stdout: stdout?.stream as ServerResponse | undefined })
        // the command's name only: its arguments may name private paths
        this.log.add(code === 0 ? 'info' : 'warning', `command ${String(body.argv[0] ?? '')} ended with exit code ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s`)
        return { code }
      } catch (err) {
        this.log.add('error', `command ${String(body.argv[0] ?? '')} failed: ${(err as Error).message}`)
        throw err
      } finally {
        stdin?.done()
        stdout?.done()
        this.commands--
        this.invalidateRegister() // a command may have changed the packs or their places
        if (restore) this.restores--
      }
    }, { stream: true })
  }

  private async runForwarded (argv: string[], passphrase: unknown, emit: (e: unknown) => void, signal: AbortSignal, io: { stdin?: AsyncIterable<Uint8Array>, stdout?: NodeJS.WritableStream } = {}): Promise<number> {
    // the peers' stores for a repository on peers; a repository on directory stores opens its own (an admin's audit here)
    const onPeers = (await readHomeConfig(this.init.home).catch(() => undefined))?.peers === true
    return await this.init.runCommand!(argv, {
      out: line => emit({ out: line }),
      err: line => emit({ err: line }),
      signal,
      ...io,
      passphrase: typeof passphrase === 'string' ? passphrase : undefined,
      openStores: onPeers ? async () => this.peerStores() : undefined,
      unlock: this.unlocks.unlock,
      placement: this.config?.placement,
      pause: this.pauseForRestore,
      logSession: async report => await this.sessionLog!.append(report),
      health: this.config != null ? healthSettings(this.config.maintenance) : undefined
    })
  }
}

function sizeField (v: unknown, name: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v
  if (typeof v === 'string') { try { return parseSize(v) } catch (err) { throw new UsageError(`--${name}: ${(err as Error).message}`) } }
  throw new UsageError(`--${name} is needed (a size such as 10GiB)`)
}

function optString (v: unknown, name: string): string | undefined {
  if (v == null) return undefined
  if (typeof v !== 'string') throw new UsageError(`--${name} must be text`)
  return v
}

function optNumber (v: unknown, name: string): number | undefined {
  if (v == null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new UsageError(`--${name} must be a positive number`)
  return v
}
