import { setMaxListeners } from 'node:events'
import type { NodeConfig } from '../config/index.js'
import { auditRound, repairRound, type AuditReport, type RepairReport } from '../maintenance/index.js'
import { Repository } from '../repository/repository.js'
import { replicateRecords, type ReplicationReport } from '../repository/replicate-records.js'
import type { ShardStore } from '../store/shard-store.js'
import type { HealthSettings } from '../maintenance/repository-health.js'

export type MaintenanceSettings = NodeConfig['maintenance']

export interface MaintenanceSchedulerInit {
  home: string
  settings: MaintenanceSettings
  /** How locks on the stores go stale and are refreshed (the node config's locks section). */
  locks?: NodeConfig['locks']
  /** The stores of this node's repository (its trusted peers), fresh for each round. */
  openStores: () => Promise<ShardStore[]> | ShardStore[]
  /** True while something else uses the repository (a forwarded command): the round is skipped. */
  busy: () => boolean
  onRound?: (round: MaintenanceRound) => void
  onError?: (err: Error) => void
  /** Randomness for the choice of shards and the jitter (tests). */
  random?: () => number
}

/** What one scheduled round did. */
export interface MaintenanceRound {
  at: number
  /** Shards due (not confirmed within the audit period) when the round began, and how many were challenged. */
  due: number
  audit?: AuditReport
  repair?: RepairReport
  /** Record copies given to stores that lacked them (a peer paired later, a record a host lost). */
  records?: ReplicationReport
}

/**
 * The owner's scheduled audits and repairs, in the daemon, without the passphrase (a maintenance view of
 * the repository: Repository.openForMaintenance). Every tick (tickSeconds, with jitter) it challenges a
 * random sample of the shards not confirmed within the audit period (by a passed audit, or by being
 * stored), sized so that every shard is challenged at least once per period, and never more than the
 * budget (challengesPerSecond x tickSeconds); then, when repair is on, it repairs at most
 * repairPacksPerTick packs below their threshold. A round is skipped while a forwarded command uses the
 * repository, and commands wait for a round under way (`idle`).
 */
export class MaintenanceScheduler {
  private timer?: ReturnType<typeof setTimeout>
  private running?: Promise<void>
  private readonly shutdown = new AbortController()
  private started = false
  private readonly random: () => number

  constructor (private readonly init: MaintenanceSchedulerInit) {
    this.random = init.random ?? Math.random
    // every call of a round listens on this one signal, many at once (audits, repairs, record copies):
    // not a leak, each listener goes with its call
    setMaxListeners(0, this.shutdown.signal)
  }

  start (): void {
    if (this.started || !this.init.settings.enabled) return
    this.started = true
    this.schedule()
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    clearTimeout(this.timer)
    this.shutdown.abort()
    await this.running?.catch(() => {})
  }

  /** Resolves once no round is under way. */
  async idle (): Promise<void> {
    await this.running?.catch(() => {})
  }

  /** One round now (the timer's rounds call this too); returns what it did, or undefined when skipped. */
  async runOnce (): Promise<MaintenanceRound | undefined> {
    if (this.running != null || this.init.busy()) return undefined
    let result: MaintenanceRound | undefined
    const p = this.round().then(r => { result = r })
    this.running = p
    try { await p } finally { this.running = undefined }
    return result
  }

  private schedule (): void {
    if (!this.started) return
    const ms = this.init.settings.tickSeconds * 1000 * (0.5 + this.random())
    this.timer = setTimeout(() => {
      this.runOnce().then(r => { if (r != null) this.init.onRound?.(r) }, err => { if (!this.shutdown.signal.aborted) this.init.onError?.(err as Error) })
        .finally(() => this.schedule())
    }, ms)
    this.timer.unref?.()
  }

  private lastReplication = 0

  private async round (): Promise<MaintenanceRound> {
    const s = this.init.settings
    const signal = this.shutdown.signal
    const repo = await Repository.openForMaintenance(this.init.home, { stores: await this.init.openStores() })
    if (this.init.locks != null) repo.lockSettings = { staleMs: this.init.locks.staleSeconds * 1000, refreshMs: this.init.locks.refreshSeconds * 1000 }
    try {
      const now = Date.now()
      const periodMs = s.auditPeriodSeconds * 1000
      const checks = await repo.register.shardChecks()
      const stored = await repo.register.storedTimes()
      const due: Array<{ pack: string, index: number }> = []
      let total = 0
      for (const desc of repo.register.packs.values()) {
        desc.shards.forEach((info, index) => {
          total++
          const c = checks.get(desc.id)?.get(index)
          if (c?.outcome === 'fail' && c.store === info.store) return // lost: repair's business, not the audit's
          const confirmed = Math.max(c?.outcome === 'pass' && c.store === info.store ? c.at : 0, stored.get(desc.id) ?? 0)
          if (now - confirmed >= periodMs) due.push({ pack: desc.id, index })
        })
      }
      // enough per tick to cover every shard once per period (and those overdue soon), within the budget
      const perTick = Math.ceil(total * s.tickSeconds / s.auditPeriodSeconds * 1.5)
      const budget = s.challengesPerSecond * s.tickSeconds
      const sample = shuffle(due, this.random).slice(0, Math.min(budget, Math.max(perTick, 1)))
      const round: MaintenanceRound = { at: now, due: due.length }
      if (sample.length > 0) round.audit = await auditRound(repo, { shards: sample, segments: s.segments, signal })
      if (s.repair) round.repair = await repairRound(repo, { ...healthSettings(s), maxPacks: s.repairPacksPerTick, onlyReadable: true, signal })
      // records are data too: every store gets a copy of each record in force (checked at most once an
      // hour, or once per audit period when that is shorter: listing every kind on every peer costs)
      if (s.repair && now - this.lastReplication >= Math.min(3600, s.auditPeriodSeconds) * 1000) {
        round.records = await replicateRecords(repo, { signal, verifySample: 64, random: this.random })
        this.lastReplication = now
      }
      return round
    } finally {
      await repo.close()
    }
  }
}

function shuffle<T> (items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}

/** The health rules of the node config, for health, repair and the scheduled rounds. */
export function healthSettings (s: Pick<MaintenanceSettings, 'graceSeconds' | 'auditPeriodSeconds' | 'repairThreshold'> & Partial<Pick<MaintenanceSettings, 'urgentGraceSeconds' | 'overdueSlackSeconds'>>): HealthSettings {
  const urgent = s.urgentGraceSeconds
  const slack = s.overdueSlackSeconds
  // unset: the health module's default (HEALTH_DEFAULTS)
  return { graceMs: s.graceSeconds * 1000, verifiedWithinMs: 2 * s.auditPeriodSeconds * 1000, repairThreshold: s.repairThreshold > 0 ? s.repairThreshold : undefined, ...(urgent != null ? { urgentGraceMs: urgent > 0 ? urgent * 1000 : Infinity } : {}), ...(slack != null ? { overdueSlackMs: slack > 0 ? slack * 1000 : Infinity } : {}) }
}
