/**
 * Pack health: how many of a pack's n = k + m shards are known good, which to regenerate, which to audit
 * next, and whether the pack can still be read. Pure: the caller gives what it knows of the shards (from
 * audits and its register) and of the peers (presence), and the time.
 *
 * Each shard index in [0, n) is exactly one of:
 * - regenerate: the shard is lost (an audit or a read found it missing or wrong), it has no record (never
 *   placed), or its host has been offline longer than `graceMs`, or is no longer a peer at all (absent
 *   from `peers`);
 * - good: otherwise, if it was verified within `verifiedWithinMs` (a passed audit, `lastVerified`), or was
 *   stored within that window and not audited since (`storedAt`: the owner computed the root itself and
 *   the host acknowledged the write, which is as fresh as an audit);
 * - stale: otherwise (not verified recently, or never): probably fine, but unconfirmed; audit it.
 * A host offline for less than the grace keeps its shards good or stale: brief absences are not repaired.
 * Unless the margin is gone (`urgentGraceMs`): when exactly k shards are on hosts seen within the urgent
 * grace, the shards of hosts away longer than that are regenerated too, without waiting for the grace:
 * one more loss would take the pack below k. When k + 1 are (one loss from the edge), so are those of
 * hosts away longer than the urgent grace whose rhythm is not known yet (a host with a known rhythm is
 * held to it, below). Several hosts of one pack leaving within a grace period lost packs in the scale
 * study (src/sim) until these rules were added: at 4+2, a network whose hosts begin to leave in its first
 * week (no rhythm known yet) lost 14 packs of 4000 with the first alone, 3 with both.
 * Or the margin is thin and a host is overdue: a host away far longer than it usually is (its rhythm,
 * `usualAbsenceMs`, as this node watched it: src/node/rhythm.ts) has probably left. When at most k + 1 of
 * a pack's shards are on hosts neither overdue nor away past the urgent grace, the overdue hosts' shards are
 * regenerated at once. A NAS is overdue after two hours, a desktop off ten hours a night after twelve and a
 * half; a peer whose rhythm is not known yet, only through the graces. In the scale study the fixed graces
 * lost packs at 4+2 to hosts leaving within a day or two of each other (docs/ARCHITECTURE.md, At scale).
 * A peer offline with no `offlineSince` is taken as offline for an unknown, short time (not yet past the
 * grace): presence learns when a peer went away only after it was online once, and a daemon that just
 * started must not regenerate everything; callers that know better (the trust list's lastSeen) pass it.
 *
 * health        = number of good shards.
 * regenerateNow = when the pack needs repair, what the repair regenerates, to the threshold: every shard
 *                 lost, unplaced or gone, or named by the urgent and edge rules (the margin is gone or one
 *                 loss from it), and of those of hosts past the grace or overdue, as many as bring the
 *                 shards kept (good or stale) up to the repair threshold (and never below k + 2), the
 *                 longest away first. Below n (m >= 3 by default) the rest wait: a host away for two weeks
 *                 may come back, and the pack keeps the threshold without it. Empty when no repair is due.
 * needsRepair   = health < repairThreshold (default autoRepairThreshold: n, or n - 1 at m >= 3) and there is
 *                 something to regenerate now. When health is low only because shards are stale, the answer
 *                 is to audit them, not to repair.
 * unrecoverable = fewer than k shards are good or stale: even if every unconfirmed shard is fine, the pack
 *                 cannot be decoded, and repair (which reads k shards) cannot help. Stale shards are
 *                 counted here so that audits falling behind schedule do not declare data lost.
 */
import { ConfigError } from '../errors.js'
import { OVERDUE_SLACK_MS, overdueAfter } from '../node/rhythm.js'

export interface ShardRecord {
  /** Shard index in [0, k + m). */
  index: number
  /** The peer (or store) holding it. */
  peer: string
  /** Last passed audit (ms since the epoch). */
  lastVerified?: number
  /** When the shard was stored (ms since the epoch); counts as a verification. */
  storedAt?: number
  /** An audit or a read found the shard missing or wrong. */
  lost?: boolean
}

export interface HostPresence {
  online: boolean
  /** When the peer went offline (ms since the epoch), if known. */
  offlineSince?: number
  /**
   * The peer's usual absence, as this node saw it (src/node/rhythm.ts): the longest of the last two weeks.
   * Unknown (undefined) for a peer watched less than a few days.
   */
  usualAbsenceMs?: number
  /**
   * How long this node has watched the peer's current absence (ms): only the time this node itself was
   * running counts. An absence this node did not watch is not held against the peer.
   */
  watchedAbsenceMs?: number
}

export interface HealthPolicy {
  k: number
  m: number
  /** Repair once fewer good shards than this remain (k .. k + m; default autoRepairThreshold(k, m)). */
  repairThreshold?: number
  /** How long a host may be offline before its shards are regenerated elsewhere. */
  graceMs: number
  /** How recent a verification must be for a shard to count as good. */
  verifiedWithinMs: number
  /**
   * When exactly k shards are on hosts online or offline for less than this, the shards of hosts offline
   * longer are regenerated at once (default: no such rule). Shorter than graceMs; longer than a host's
   * usual daily absence.
   */
  urgentGraceMs?: number
  /**
   * A host away longer than its usual absence plus this (and at least a quarter more than usual) is
   * overdue (default OVERDUE_SLACK_MS, 2 hours; Infinity: no host is ever overdue).
   */
  overdueSlackMs?: number
}

export interface PackHealth {
  /** Number of good shards. */
  health: number
  /** Shard indices, each ascending; together they are [0, k + m). */
  good: number[]
  stale: number[]
  regenerate: number[]
  /**
   * When the pack needs repair, the part of `regenerate` that the repair regenerates (ascending): the
   * shards lost, unplaced, gone, urgent or edge, and as many of those past the grace or overdue (the
   * longest away first) as bring the pack up to the repair threshold (at least k + 2). All of `regenerate`
   * when the threshold is n; empty when no repair is due.
   */
  regenerateNow: number[]
  /** Why each shard of `regenerate` is: the rule that applies (RegenerateCause). */
  causes: Record<number, RegenerateCause>
  needsRepair: boolean
  unrecoverable: boolean
}

/**
 * Why a shard is to be regenerated: lost (an audit or a read found it missing or wrong), unplaced (no
 * record), gone (its host is no longer a peer), grace (its host away past the grace), urgent (away past
 * the urgent grace with only k shards left on hosts seen within it), edge (the same with k + 1 left and
 * the host's rhythm not known), overdue (away far longer than it usually is, the margin thin).
 */
export type RegenerateCause = 'lost' | 'unplaced' | 'gone' | 'grace' | 'urgent' | 'edge' | 'overdue'

/**
 * The repair threshold when none is set: repair at the first loss (n = k + m) while m < 3; with three
 * parity shards or more, one absent shard waits (n - 1), and at the second loss the repair brings the pack
 * back to n - 1 (regenerateNow), which still leaves k + 2 shards while the repair runs.
 * Why: a host away for two weeks comes back to find its shards regenerated, for nothing. In the scale
 * study's churn (10 % of hosts leave for good within a week, 5 % are away two weeks) repair at every loss
 * sent 1.45 to 1.55x the bytes truly lost at 4+2; at 4+3 with this threshold, regenerating both shards at
 * the second loss sent 1.12 to 1.21x, and to the threshold 0.51 to 0.57x, with no more packs lost. At 4+2
 * waiting for a second loss lost packs (three hosts of one pack gone within days), so 4+2 repairs at once.
 */
export function autoRepairThreshold (k: number, m: number): number {
  return m >= 3 ? k + m - 1 : k + m
}

function checkPolicy (policy: HealthPolicy): Required<HealthPolicy> {
  const { k, m, graceMs, verifiedWithinMs } = policy
  const urgentGraceMs = policy.urgentGraceMs ?? Infinity
  const overdueSlackMs = policy.overdueSlackMs ?? OVERDUE_SLACK_MS
  if (!Number.isSafeInteger(k) || k < 1 || !Number.isSafeInteger(m) || m < 0) throw new ConfigError(`invalid k = ${String(k)}, m = ${String(m)}`)
  const repairThreshold = policy.repairThreshold ?? autoRepairThreshold(k, m)
  if (!Number.isSafeInteger(repairThreshold) || repairThreshold < k || repairThreshold > k + m) {
    throw new ConfigError(`the repair threshold must be between k and k + m, got ${String(repairThreshold)}`)
  }
  for (const [name, value] of [['graceMs', graceMs], ['verifiedWithinMs', verifiedWithinMs], ['urgentGraceMs', urgentGraceMs], ['overdueSlackMs', overdueSlackMs]] as const) {
    if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw new ConfigError(`invalid ${name} ${String(value)}`)
  }
  return { k, m, repairThreshold, graceMs, verifiedWithinMs, urgentGraceMs, overdueSlackMs }
}

type Presences = ReadonlyMap<string, HostPresence> | Readonly<Record<string, HostPresence>>

function presenceOf (peers: Presences, peer: string): HostPresence | undefined {
  if (peers instanceof Map) return peers.get(peer)
  return Object.prototype.hasOwnProperty.call(peers, peer) ? (peers as Record<string, HostPresence>)[peer] : undefined
}

/** The health of one pack at `now`. Throws ConfigError for a bad policy or a shard index out of range or given twice. */
export function packHealth (shards: readonly ShardRecord[], peers: Presences, now: number, policy: HealthPolicy): PackHealth {
  const { k, m, repairThreshold, graceMs, verifiedWithinMs, urgentGraceMs, overdueSlackMs } = checkPolicy(policy)
  if (typeof now !== 'number' || !Number.isFinite(now)) throw new ConfigError(`invalid time ${String(now)}`)
  const n = k + m
  const byIndex = new Map<number, ShardRecord>()
  for (const shard of shards) {
    if (!Number.isSafeInteger(shard.index) || shard.index < 0 || shard.index >= n) {
      throw new ConfigError(`shard index ${String(shard.index)} out of range (n = ${n})`)
    }
    if (byIndex.has(shard.index)) throw new ConfigError(`shard index ${shard.index} given twice`)
    byIndex.set(shard.index, shard)
  }

  const awayLongerThan = (presence: HostPresence, ms: number): boolean =>
    !presence.online && presence.offlineSince !== undefined && now - presence.offlineSince > ms
  // overdue: away much longer than its usual absence, watched all along (the peer has probably left)
  const overdue = (presence: HostPresence): boolean => Number.isFinite(overdueSlackMs) && !presence.online &&
    presence.usualAbsenceMs !== undefined && presence.watchedAbsenceMs !== undefined &&
    presence.watchedAbsenceMs > Math.min(graceMs, overdueAfter(presence.usualAbsenceMs, overdueSlackMs))
  // the margin: shards on hosts seen within the urgent grace (recent), and of those on hosts not overdue
  let recent = 0
  let prompt = 0
  for (const shard of byIndex.values()) {
    const presence = presenceOf(peers, shard.peer)
    if (shard.lost !== true && presence !== undefined && !awayLongerThan(presence, urgentGraceMs)) {
      recent++
      if (!overdue(presence) && !awayLongerThan(presence, graceMs)) prompt++
    }
  }
  // with only k recent, the absent ones are not waited for past the urgent grace; with at most k + 1 not
  // overdue (one more loss from the edge), the overdue ones are not waited for at all. (With fewer than k,
  // nothing can be regenerated until some are back: the usual grace holds, and the pack is not called
  // unrecoverable for hosts that may yet return.)
  const urgentMs = Math.min(graceMs, urgentGraceMs)
  const urgent = recent === k
  const thin = prompt >= k && prompt <= k + 1
  // one loss from the edge: a host away past the urgent grace whose rhythm is not known (a new peer, or
  // the overdue rule off) is not waited for either; one whose rhythm is known is held to it (overdue)
  // (held against it: only the time this node watched, as for the overdue rule: not this node's own
  // weekend off, nor the minutes after its start when peers are still reconnecting)
  const edge = recent === k + 1
  const edgeGone = (presence: HostPresence): boolean => (presence.usualAbsenceMs === undefined || !Number.isFinite(overdueSlackMs)) &&
    awayLongerThan(presence, urgentMs) && presence.watchedAbsenceMs !== undefined && presence.watchedAbsenceMs > urgentMs

  const good: number[] = []
  const stale: number[] = []
  const regenerate: number[] = []
  const causes: Record<number, RegenerateCause> = {}
  const causeOf = (shard: ShardRecord | undefined, presence: HostPresence | undefined): RegenerateCause | undefined => {
    if (shard === undefined) return 'unplaced'
    if (shard.lost === true) return 'lost'
    if (presence === undefined) return 'gone'
    if (awayLongerThan(presence, graceMs)) return 'grace'
    if (urgent && awayLongerThan(presence, urgentMs)) return 'urgent'
    if (edge && edgeGone(presence)) return 'edge'
    if (thin && overdue(presence)) return 'overdue'
    return undefined
  }
  for (let index = 0; index < n; index++) {
    const shard = byIndex.get(index)
    const cause = causeOf(shard, shard !== undefined ? presenceOf(peers, shard.peer) : undefined)
    if (shard === undefined || cause !== undefined) {
      regenerate.push(index)
      causes[index] = cause ?? 'unplaced'
      continue
    }
    const checked = Math.max(shard.lastVerified ?? -Infinity, shard.storedAt ?? -Infinity)
    if (now - checked <= verifiedWithinMs) good.push(index)
    else stale.push(index)
  }
  // to the threshold: what is surely gone, and what the urgent and edge rules name (the margin is gone or
  // one loss from it), then the absent hosts' shards (past the grace, or overdue), the longest away first,
  // until the shards kept and regenerated reach the threshold, and never fewer than k + 2
  const always = regenerate.filter(i => causes[i] !== 'grace' && causes[i] !== 'overdue')
  const awayFor = (i: number): number => {
    const p = presenceOf(peers, byIndex.get(i)!.peer)
    return p?.offlineSince !== undefined ? now - p.offlineSince : p?.watchedAbsenceMs ?? 0
  }
  const absent = regenerate.filter(i => !always.includes(i)).sort((a, b) => awayFor(b) - awayFor(a) || a - b)
  const target = Math.min(n, Math.max(repairThreshold, k + 2))
  const candidates = [...always, ...absent.slice(0, Math.max(0, target - good.length - stale.length - always.length))]
  const needsRepair = good.length < repairThreshold && candidates.length > 0
  return {
    health: good.length,
    good,
    stale,
    regenerate,
    regenerateNow: needsRepair ? candidates.sort((a, b) => a - b) : [],
    causes,
    needsRepair,
    unrecoverable: good.length + stale.length < k
  }
}
