import { createHash } from 'node:crypto'
import { answerChallenge, createChallenge, merkleRoot, proofPayloadBytes, verifyAnswer } from '../audit/index.js'
import { packHealth, type HostPresence, type ShardRecord } from '../audit/health.js'
import { newReputation, score, updateReputation, type Reputation } from '../audit/reputation.js'
import { CauchyCodec } from '../erasure/index.js'
import { placePacks, type PlacementCandidate } from '../placement/index.js'
import { carryAbsence, newRhythm, noteAbsence, rhythmDay, usualAbsence, type Rhythm } from '../node/rhythm.js'
import { buildPopulation, DAY, HOUR, inDailyWindow, type PopulationParams, type SimNode } from './population.js'
import { seededRandom, type SeededRandom } from './seeded-random.js'

/**
 * A network of Holdfast nodes on a virtual clock, in one process. What each node does is the product's own
 * logic: placement (placePacks, weighted by quota room and reputation, spread over sites), erasure coding
 * (the Cauchy Reed-Solomon codec), audits (createChallenge / answerChallenge / verifyAnswer with real Merkle
 * proofs over real shard bytes), reputation (updateReputation, score), pack health and the repair decision
 * (packHealth with the daemon's grace and threshold). What is simulated: time (an hourly tick), presence
 * (each node's daily window, departures, absences, a site outage: the owner sees a host online exactly when
 * it is), and the wire (a challenge and its answer are function calls; their bytes are counted).
 */
export interface SimParams {
  seed: number
  days: number
  population: PopulationParams
  k: number
  m: number
  packsPerOwner: number
  /** Bytes of each pack (the shards are packBytes / k). */
  packBytes: number
  /** Merkle segment size of the audits. */
  segmentBytes: number
  /** What a host grants each peer, in shards of this size (a range). */
  quotaShards: [number, number]
  auditPeriodMs: number
  /** Segments challenged per shard per audit (the daemon's maintenance.segments). */
  segments: number
  graceMs: number
  /** The daemon's urgent grace (src/audit/health.ts): absent hosts of a pack down to k recent shards. */
  urgentGraceMs?: number
  /** Repair below this many good shards (k .. k+m; default the daemon's automatic threshold, audit/health.ts). */
  repairThreshold?: number
  /**
   * Each owner watches its hosts' absences and learns their rhythm (src/node/rhythm.ts), and regenerates the
   * shards of overdue hosts when a pack's margin is thin, as the daemon does (default true; false: the
   * fixed graces only, with nothing watched).
   */
  rhythm?: boolean
  churn?: { leaveShare: number, leaveOverDays: number, awayShare: number, awayDays: number, startDay: number }
  cheats?: { dropShare: number, partialShare: number, startDay: number }
  siteOutage?: { startDay: number, days: number }
}

export const DEFAULT_SIM: Omit<SimParams, 'seed' | 'population'> = {
  days: 30,
  k: 4,
  m: 2,
  packsPerOwner: 4,
  packBytes: 4096,
  segmentBytes: 64,
  quotaShards: [40, 120],
  auditPeriodMs: DAY,
  segments: 1,
  graceMs: 3 * DAY,
  urgentGraceMs: DAY
}

interface PlacedShard extends ShardRecord { bytesRoot: Uint8Array }

interface Pack {
  id: string
  owner: number
  digest: string
  length: number
  shardSize: number
  shards: PlacedShard[]
  /** Hosts that held an index before a repair moved it (their copy is stale: deleted when they are back). */
  stale: Array<{ host: number, index: number }>
}

type Behaviour = 'honest' | 'drop' | 'partial'

/**
 * Why a shard was regenerated, as the simulation knows and the owner cannot: its host left for good,
 * was away and came back (the repair was spent on a shard that was not lost), or the shard was found
 * lost or damaged by an audit or a read, or its host was offline past the grace in its daily pattern.
 */
export type RepairCause = 'departed' | 'returned' | 'found-lost' | 'offline'

interface HostState {
  held: Map<string, Uint8Array>
  usedBy: Map<number, number>
  behaviour: Behaviour
  departedAt?: number
  away?: [number, number]
  /** hours online / hours observed */
  onlineHours: number
}

export interface SimReport {
  params: { nodes: number, groups: number, offices: number, days: number, packs: number, shards: number, k: number, m: number, peersPerNode: { min: number, p50: number, max: number } }
  /** Packs that cannot be decoded at the end from the shards left on hosts still in the network. */
  packsLost: number
  /**
   * Of those, packs of owners that were away themselves for two weeks (churn): only an owner repairs its
   * packs, so nothing was done while its hosts left.
   */
  packsLostOwnerAway: number
  /**
   * Each pack lost, why as the simulation knows it: its owner was away itself; how many of the hosts
   * holding its shards at the end left for good, and the m + 1 of them closest in time within how many
   * hours (null: m or fewer left); how many of its shards hosts still here lost or damaged (cheats).
   */
  lostPacks: Array<{ ownerAway: boolean, hostsGone: number, withinHours: number | null, damagedByHostsHere: number }>
  /** Backups that found too few peers online to place k+m shards (tried again an hour later). */
  backupsDeferred: number
  /** Owners that never backed up (never k+m peers online together). */
  ownersWithoutBackup: number
  /** Packs of owners that left for good (nobody repairs them, nobody needs them), below k at the end. */
  packsOfDepartedOwnersLost: number
  snapshotsLost: number
  /** Packs decoded byte for byte at the end (every one that was not lost). */
  packsVerified: number
  repair: { packs: number, shards: number, bytesUp: number, bytesDown: number, trulyLostBytes: number, ratio: number, staleDeleted: number, unrecoverableSeen: number, shardsByCause: Record<RepairCause, number> }
  audits: { challenges: number, passed: number, failed: number, bytesPerHostPerDay: { p50: number, p95: number, max: number } }
  cheaters: { count: number, detected: number, maxDetectionPeriods: number, medianDetectionPeriods: number }
  honest90: { hosts: number, penalised: number, warnedPairs: number }
  /** packs by good shards at the end, from each owner's own view */
  healthAtEnd: Record<string, number>
  /** what the sim measured per day, for tables: min packs at full health, packs needing repair */
  timeline: Array<{ day: number, online: number, fullHealth: number, degraded: number, belowK: number }>
}

export class SimNetwork {
  readonly nodes: SimNode[]
  readonly groups: number[][]
  private readonly rnd: SeededRandom
  private readonly hosts: HostState[]
  private readonly packs: Pack[] = []
  private readonly packsOf: Pack[][]
  /** pack id -> owner */
  private readonly ownerOf = new Map<string, number>()
  /** bytes of shards truly gone (their host left for good, dropped or damaged them), by the pack's owner */
  private readonly lostOf = new Map<number, number>()
  /** bytes sent by repairs, by owner */
  private readonly upOf = new Map<number, number>()
  /** shards regenerated by repairs of owners still here, by cause (classified at the end) */
  private readonly regenerated: Array<{ owner: number, host: number, lost: boolean }> = []
  private readonly quota: Map<string, number> = new Map()
  /** owner -> host -> reputation record */
  private readonly reps: Array<Map<number, Reputation>>
  private readonly presence: HostPresence[]
  /** since when each node has watched its peers without a break: its last start, or the last hour it was cut off from them all */
  private readonly watchFrom: number[]
  /** the last hour each node had a peer online (it watches nothing while cut off from them all) */
  private readonly lastContact: number[]
  /** what each owner learned of each host's absences (owner -> host -> rhythm; its carriedMs: what the owner watched of the host's current absence before its own breaks) */
  private readonly rhythms: Array<Map<number, Rhythm>>
  /** owner -> host -> the last day the owner saw the host online (credited in the host's rhythm) */
  private readonly seenDay: Array<Map<number, number>>
  private readonly codec: CauchyCodec
  private now = 0
  private readonly outage?: { site: string, from: number, to: number }
  private readonly stats = {
    challenges: 0, passed: 0, failed: 0, auditBytes: [] as number[],
    backupsDeferred: 0, repairPacks: 0, repairShards: 0, bytesUp: 0, bytesDown: 0, trulyLost: 0, staleDeleted: 0, unrecoverableSeen: 0
  }

  private readonly cheatStart = new Map<number, number>()
  private readonly firstFailure = new Map<number, number>()
  private readonly timeline: SimReport['timeline'] = []
  /** cheating hosts that dropped or damaged at least one shard (one that dropped nothing cannot be caught) */
  private readonly cheated = new Set<number>()

  constructor (readonly params: SimParams) {
    this.rnd = seededRandom(params.seed)
    const { nodes, groups } = buildPopulation(params.population, this.rnd.fork())
    this.nodes = nodes
    this.groups = groups
    this.codec = new CauchyCodec(params.k, params.m)
    this.hosts = nodes.map(() => ({ held: new Map(), usedBy: new Map(), behaviour: 'honest', onlineHours: 0 }))
    this.packsOf = nodes.map(() => [])
    this.reps = nodes.map(() => new Map())
    this.presence = nodes.map(() => ({ online: false }))
    this.watchFrom = nodes.map(() => 0)
    this.lastContact = nodes.map(() => 0)
    this.rhythms = nodes.map(() => new Map())
    this.seenDay = nodes.map(() => new Map())
    const r = this.rnd.fork()
    const shardSize = this.codec.shardSizeFor(params.packBytes)
    for (const n of nodes) for (const p of n.peers) this.quota.set(`${p}>${n.index}`, r.between(params.quotaShards[0], params.quotaShards[1]) * shardSize)
    if (params.siteOutage != null) {
      const sites = [...new Set(nodes.filter(n => n.office != null).map(n => n.site))].sort()
      if (sites.length > 0) this.outage = { site: sites[r.below(sites.length)], from: params.siteOutage.startDay * DAY, to: (params.siteOutage.startDay + params.siteOutage.days) * DAY }
    }
    this.planScenario(r)
  }

  /** Departures, absences and cheats, drawn once from the seed. */
  private planScenario (r: SeededRandom): void {
    const order = r.shuffle(this.nodes.map(n => n.index))
    let at = 0
    const c = this.params.churn
    if (c != null) {
      const leave = Math.round(this.nodes.length * c.leaveShare)
      for (let i = 0; i < leave; i++) this.hosts[order[at++]].departedAt = (c.startDay + r.next() * c.leaveOverDays) * DAY
      const away = Math.round(this.nodes.length * c.awayShare)
      for (let i = 0; i < away; i++) {
        const from = (c.startDay + r.next() * c.leaveOverDays) * DAY
        this.hosts[order[at++]].away = [from, from + c.awayDays * DAY]
      }
    }
    const ch = this.params.cheats
    if (ch != null) {
      const drop = Math.round(this.nodes.length * ch.dropShare)
      const partial = Math.round(this.nodes.length * ch.partialShare)
      for (let i = 0; i < drop + partial; i++) {
        const h = order[at++]
        this.cheatStart.set(h, ch.startDay * DAY)
        this.hosts[h].behaviour = i < drop ? 'drop' : 'partial'
      }
    }
  }

  isOnline (i: number, t = this.now): boolean {
    const h = this.hosts[i]
    if (h.departedAt != null && t >= h.departedAt) return false
    if (h.away != null && t >= h.away[0] && t < h.away[1]) return false
    if (this.outage != null && this.nodes[i].site === this.outage.site && t >= this.outage.from && t < this.outage.to) return false
    return inDailyWindow(this.nodes[i], t)
  }

  private departed (i: number): boolean {
    const d = this.hosts[i].departedAt
    return d != null && this.now >= d
  }

  async run (): Promise<SimReport> {
    const end = this.params.days * DAY
    const backedUp = new Set<number>()
    for (this.now = 0; this.now < end; this.now += HOUR) {
      this.tickPresence()
      this.tickCheats()
      for (const n of this.nodes) {
        if (!this.isOnline(n.index)) continue
        // presence: a day the owner sees a host online counts in the host's rhythm; an owner cut off from
        // all its peers watches nothing (its own network may be down) until it is in touch again
        const today = rhythmDay(this.now)
        let anyOnline = false
        for (const h of n.peers) {
          if (!this.isOnline(h)) continue
          anyOnline = true
          // a host seen online again after this owner's own break: what the owner watched of its absence
          // before the break (and after it, up to the last hour) is one absence
          const carried = this.rhythms[n.index].get(h)?.carriedMs
          if (carried != null) this.noteRhythm(n.index, h, carried)
          else if (this.seenDay[n.index].get(h) === today) continue
          this.seenDay[n.index].set(h, today)
          this.noteRhythm(n.index, h, 0)
        }
        // (cut off this hour: it watched until its last hour with a peer online, and watches again from the
        // next hour it has one)
        if (anyOnline) this.lastContact[n.index] = this.now
        else this.stopWatching(n.index, Math.min(this.now, this.lastContact[n.index] + HOUR), this.now + HOUR)
        // the first backup, once enough peers are online together to place k+m distinct shards
        if (!backedUp.has(n.index) && await this.backup(n)) backedUp.add(n.index)
        // the daily audit round, one hour into the node's day; repair whenever it is online (the daemon's
        // maintenance ticks every minute: a pack waits only until k of its hosts are online together)
        if (Math.floor((this.now % DAY) / HOUR) === (n.startHour + 1) % 24 && this.now > 0) this.audit(n)
        for (const pack of this.packsOf[n.index]) await this.repair(pack)
      }
      if (this.now % DAY === DAY - HOUR) this.recordDay()
    }
    return await this.report()
  }

  private tickPresence (): void {
    // who came online, and since when it was away
    const back: Array<[number, number]> = []
    const wentOff: number[] = []
    for (const n of this.nodes) {
      const online = this.isOnline(n.index)
      const p = this.presence[n.index]
      if (online) this.hosts[n.index].onlineHours++
      // a host that left for good takes what it held with it (it may leave while offline in its daily pattern)
      if (this.departed(n.index) && this.hosts[n.index].held.size > 0) {
        for (const [key, b] of this.hosts[n.index].held) this.loseBytes(key, b.length)
        this.hosts[n.index].held.clear()
      }
      if (p.online === online && this.now > 0) continue
      this.presence[n.index] = online ? { online: true } : { online: false, offlineSince: this.now }
      if (online) back.push([n.index, p.offlineSince ?? 0])
      else if (this.now > 0) wentOff.push(n.index)
      // every peer that keeps a record of this host learns the change (presence)
      for (const o of n.peers) {
        const rec = this.reps[o].get(n.index)
        if (rec != null) this.reps[o].set(n.index, updateReputation(rec, { type: online ? 'online' : 'offline', at: this.now }))
      }
    }
    // presence's rhythm (src/node/rhythm.ts): a host back from an absence, each peer online to see it
    // records what it watched (since the host went or since it last came back itself or in touch), with
    // what it carried from before its own breaks; a peer offline now sees the host at its next hour
    // online (within the hour: an owner that went offline this hour watched until now)
    const cameBack = new Set(back.map(([h]) => h))
    const leaving = new Set(wentOff)
    for (const [h, off] of back) {
      for (const o of this.nodes[h].peers) {
        if (!(this.presence[o].online || leaving.has(o)) || cameBack.has(o)) continue
        const watched = Math.max(0, this.now - Math.max(off, this.watchFrom[o]))
        this.noteRhythm(o, h, (this.rhythms[o].get(h)?.carriedMs ?? 0) + watched)
      }
    }
    for (const h of cameBack) this.watchFrom[h] = this.now
    for (const o of wentOff) this.stopWatching(o)
  }

  /** What an owner notes of a host now: seen online (0), or an absence it watched that long. */
  private noteRhythm (owner: number, host: number, absentMs: number): void {
    this.rhythms[owner].set(host, noteAbsence(this.rhythms[owner].get(host) ?? newRhythm(), this.now, absentMs))
  }

  /**
   * An owner stops watching at `until` (it goes offline, or is cut off from all its peers: it watched until
   * it last had one online): what it watched of each absence is carried (rhythm.ts, carryAbsence) until it
   * sees the host again, and it watches again from `resumeAt` (it comes back online: it is then set again).
   */
  private stopWatching (owner: number, until = this.now, resumeAt = this.now): void {
    for (const h of this.nodes[owner].peers) {
      const p = this.presence[h]
      if (p.online || p.offlineSince == null) continue
      const watched = until - Math.max(p.offlineSince, this.watchFrom[owner])
      if (watched > 0) this.rhythms[owner].set(h, carryAbsence(this.rhythms[owner].get(h) ?? newRhythm(), watched))
    }
    this.watchFrom[owner] = Math.max(this.watchFrom[owner], resumeAt)
  }

  private tickCheats (): void {
    for (const [h, start] of this.cheatStart) {
      if (this.now !== Math.ceil(start / HOUR) * HOUR) continue
      const host = this.hosts[h]
      const r = this.rnd
      for (const [key, bytes] of [...host.held]) {
        if (host.behaviour === 'drop') {
          if (r.next() < 0.5) { host.held.delete(key); this.loseBytes(key, bytes.length); this.cheated.add(h) }
        } else {
          // answers from partial data: keeps every second segment, the rest replaced by zeros
          const seg = this.params.segmentBytes
          const kept = Uint8Array.from(bytes)
          for (let s = 1; s * seg < kept.length; s += 2) kept.fill(0, s * seg, Math.min(kept.length, (s + 1) * seg))
          host.held.set(key, kept)
          this.loseBytes(key, bytes.length)
          this.cheated.add(h)
        }
      }
    }
  }

  private candidates (owner: number): PlacementCandidate[] {
    return this.nodes[owner].peers.map(h => {
      const rec = this.reps[owner].get(h)
      return {
        id: String(h),
        site: this.nodes[h].site,
        freeBytes: (this.quota.get(`${h}>${owner}`) ?? 0) - (this.hosts[h].usedBy.get(owner) ?? 0),
        reputation: rec == null ? 1 : score(rec, this.now),
        online: this.isOnline(h)
      }
    })
  }

  private store (host: number, owner: number, key: string, bytes: Uint8Array): void {
    const h = this.hosts[host]
    // a host that drops what it keeps drops half of what it gets, too
    if (h.behaviour === 'drop' && this.now >= (this.cheatStart.get(host) ?? Infinity) && this.rnd.next() < 0.5) {
      this.loseBytes(key, bytes.length)
      this.cheated.add(host)
    } else {
      h.held.set(key, bytes)
    }
    h.usedBy.set(owner, (h.usedBy.get(owner) ?? 0) + bytes.length)
    if (!this.reps[owner].has(host)) this.reps[owner].set(host, updateReputation(newReputation(this.now), { type: 'online', at: this.now }))
  }

  private loseBytes (key: string, bytes: number): void {
    const owner = this.ownerOf.get(key.slice(0, key.indexOf('/')))!
    this.lostOf.set(owner, (this.lostOf.get(owner) ?? 0) + bytes)
  }

  private async backup (owner: SimNode): Promise<boolean> {
    const { k, m, packsPerOwner, packBytes } = this.params
    const r = this.rnd
    const shardSize = this.codec.shardSizeFor(packBytes)
    const toPlace = []
    const made: Array<{ id: string, data: Uint8Array, shards: Uint8Array[] }> = []
    for (let p = 0; p < packsPerOwner; p++) {
      const data = r.bytes(packBytes)
      const id = createHash('sha256').update(data).digest('hex')
      const { shards } = await this.codec.encode(data)
      made.push({ id, data, shards })
      this.ownerOf.set(id, owner.index)
      toPlace.push({ packId: id, k, m, shardBytes: shardSize })
    }
    const candidates = this.candidates(owner.index)
    let placements
    try {
      placements = placePacks(toPlace, candidates, { onShortfall: 'reduced' })
    } catch (err) {
      if ((err as Error).name !== 'PlacementError') throw err
      this.stats.backupsDeferred++
      return false
    }
    made.forEach(({ id, data, shards }, p) => {
      const pack: Pack = { id, owner: owner.index, digest: createHash('sha256').update(data).digest('hex'), length: data.length, shardSize, shards: [], stale: [] }
      placements[p].peers.forEach((peer, index) => {
        const host = Number(peer)
        this.store(host, owner.index, `${id}/${index}`, shards[index])
        pack.shards.push({ index, peer, storedAt: this.now, bytesRoot: merkleRoot(shards[index], this.params.segmentBytes) })
      })
      this.packs.push(pack)
      this.packsOf[owner.index].push(pack)
    })
    return true
  }

  /** One owner's daily round: audit every shard whose host is online. */
  private audit (owner: SimNode): void {
    const seg = this.params.segmentBytes
    for (const pack of this.packsOf[owner.index]) {
      for (const shard of pack.shards) {
        const host = Number(shard.peer)
        if (shard.lost === true || !this.isOnline(host)) continue
        const challenge = createChallenge({ shardSize: pack.shardSize, segmentSize: seg, count: this.params.segments, random: this.rnd.bytes })
        const held = this.hosts[host].held.get(`${pack.id}/${shard.index}`)
        let ok = false
        if (held != null) {
          const verdict = verifyAnswer({ root: shard.bytesRoot, shardSize: pack.shardSize, segmentSize: seg }, challenge, answerChallenge(held, seg, challenge))
          ok = verdict.ok
        }
        this.stats.challenges++
        this.stats.auditBytes[host] = (this.stats.auditBytes[host] ?? 0) + 32 + 8 * challenge.indices.length + challenge.indices.length * proofPayloadBytes(pack.shardSize, seg)
        const rec = this.reps[owner.index].get(host) ?? newReputation(this.now)
        this.reps[owner.index].set(host, updateReputation(rec, { type: ok ? 'pass' : 'fail', at: this.now }))
        if (ok) { this.stats.passed++; shard.lastVerified = this.now } else {
          this.stats.failed++
          shard.lost = true
          if (this.cheatStart.has(host) && !this.firstFailure.has(host)) this.firstFailure.set(host, this.now)
        }
      }
    }
  }

  private presenceCache?: { at: number, map: Map<string, HostPresence> }

  private presenceMap (): Map<string, HostPresence> {
    if (this.presenceCache?.at === this.now) return this.presenceCache.map
    const map = new Map<string, HostPresence>()
    this.presenceCache = { at: this.now, map }
    // a host that left for good is still a trusted peer, seen offline since it left
    this.presence.forEach((p, i) => map.set(String(i), p))
    return map
  }

  private ownerPresence?: { at: number, owner: number, map: Map<string, HostPresence> }

  /** Presence as one owner sees its hosts: with each one's usual absence, and how long it watched it absent. */
  private presenceFor (owner: number): Map<string, HostPresence> {
    if (this.params.rhythm === false) return this.presenceMap()
    if (this.ownerPresence?.at === this.now && this.ownerPresence.owner === owner) return this.ownerPresence.map
    const map = new Map<string, HostPresence>()
    this.ownerPresence = { at: this.now, owner, map }
    for (const h of this.nodes[owner].peers) {
      const p = this.presence[h]
      const rhythm = this.rhythms[owner].get(h)
      const usual = usualAbsence(rhythm, this.now)
      const watched = (rhythm?.carriedMs ?? 0) + Math.max(0, this.now - Math.max(p.offlineSince ?? this.now, this.watchFrom[owner]))
      map.set(String(h), p.online ? p : { ...p, usualAbsenceMs: usual, watchedAbsenceMs: watched })
    }
    return map
  }

  private async repair (pack: Pack): Promise<void> {
    const { k, m, graceMs, auditPeriodMs, repairThreshold, urgentGraceMs } = this.params
    // stale copies on hosts that are back are deleted (the daemon's repair does it: staleDeleted)
    pack.stale = pack.stale.filter(s => {
      if (!this.isOnline(s.host)) return true
      const key = `${pack.id}/${s.index}`
      const bytes = this.hosts[s.host].held.get(key)
      if (bytes != null) {
        this.hosts[s.host].held.delete(key)
        this.hosts[s.host].usedBy.set(pack.owner, (this.hosts[s.host].usedBy.get(pack.owner) ?? 0) - bytes.length)
        this.stats.staleDeleted++
      }
      return false
    })
    const health = packHealth(pack.shards, this.presenceFor(pack.owner), this.now, { k, m, graceMs, verifiedWithinMs: 2 * auditPeriodMs, repairThreshold, urgentGraceMs })
    if (health.unrecoverable) { this.stats.unrecoverableSeen++; return }
    if (!health.needsRepair) return
    // read k shards from online hosts, each checked against its root before use
    const got: Array<Uint8Array | null> = pack.shards.map(() => null)
    let have = 0
    for (const i of [...health.good, ...health.stale]) {
      if (have >= k) break
      const s = pack.shards[i]
      const host = Number(s.peer)
      if (!this.isOnline(host)) continue
      const bytes = this.hosts[host].held.get(`${pack.id}/${i}`)
      this.stats.bytesDown += pack.shardSize
      if (bytes == null || Buffer.compare(merkleRoot(bytes, this.params.segmentBytes), s.bytesRoot) !== 0) { s.lost = true; continue }
      got[i] = bytes
      have++
    }
    if (have < k) return
    const all = await this.codec.reconstruct(got, pack.shardSize)
    // to the threshold (packHealth's regenerateNow), and any shard the reads just found lost
    const regenerate = pack.shards.filter(s => s.lost === true || health.regenerateNow.includes(s.index)).map(s => s.index)
    const fixed = new Map<number, string>()
    for (const s of pack.shards) if (!regenerate.includes(s.index)) fixed.set(s.index, s.peer)
    let placed
    try {
      placed = placePacks([{ packId: pack.id, k, m, shardBytes: pack.shardSize, fixed, exclude: regenerate.map(i => pack.shards[i].peer) }], this.candidates(pack.owner), { onShortfall: 'reduced' })[0]
    } catch {
      return // too few usable peers now: the next round tries again
    }
    this.stats.repairPacks++
    for (const i of regenerate) {
      const host = Number(placed.peers[i])
      const old = pack.shards[i]
      const oldHost = Number(old.peer)
      this.regenerated.push({ owner: pack.owner, host: oldHost, lost: old.lost === true })
      if (!this.departed(oldHost)) pack.stale.push({ host: oldHost, index: i })
      else if (this.hosts[oldHost].usedBy.has(pack.owner)) this.hosts[oldHost].usedBy.set(pack.owner, Math.max(0, (this.hosts[oldHost].usedBy.get(pack.owner) ?? 0) - pack.shardSize))
      this.store(host, pack.owner, `${pack.id}/${i}`, all[i])
      pack.shards[i] = { index: i, peer: String(host), storedAt: this.now, bytesRoot: old.bytesRoot }
      this.stats.repairShards++
      this.upOf.set(pack.owner, (this.upOf.get(pack.owner) ?? 0) + pack.shardSize)
    }
  }

  private recordDay (): void {
    const presence = this.presenceMap()
    const { k, m, graceMs, auditPeriodMs } = this.params
    let full = 0; let degraded = 0; let belowK = 0
    for (const pack of this.packs) {
      const h = packHealth(pack.shards, presence, this.now, { k, m, graceMs, verifiedWithinMs: 2 * auditPeriodMs })
      const present = h.good.length + h.stale.length
      if (present >= k + m) full++
      else if (present >= k) degraded++
      else belowK++
    }
    this.timeline.push({ day: Math.round(this.now / DAY), online: this.nodes.filter(n => this.isOnline(n.index)).length, fullHealth: full, degraded, belowK })
  }

  private async report (): Promise<SimReport> {
    const { k, m } = this.params
    // the end: every pack decoded from what the hosts still in the network keep, checked byte for byte
    let verified = 0; let leftLost = 0
    const lostPacks: SimReport['lostPacks'] = []
    const explain = (pack: Pack, got: Array<Uint8Array | null>): SimReport['lostPacks'][number] => {
      const gone = pack.shards.filter(s => this.departed(Number(s.peer))).map(s => this.hosts[Number(s.peer)].departedAt!).sort((a, b) => a - b)
      let within = Infinity
      for (let i = 0; i + m < gone.length; i++) within = Math.min(within, gone[i + m] - gone[i])
      const damaged = pack.shards.filter((s, i) => got[i] == null && !this.departed(Number(s.peer))).length
      return { ownerAway: this.hosts[pack.owner].away != null, hostsGone: gone.length, withinHours: Number.isFinite(within) ? within / HOUR : null, damagedByHostsHere: damaged }
    }
    const ownersLost = new Set<number>()
    const healthAtEnd: Record<string, number> = {}
    for (const pack of this.packs) {
      const got: Array<Uint8Array | null> = pack.shards.map(s => {
        const host = Number(s.peer)
        if (this.departed(host)) return null
        const bytes = this.hosts[host].held.get(`${pack.id}/${s.index}`)
        return bytes != null && Buffer.compare(merkleRoot(bytes, this.params.segmentBytes), s.bytesRoot) === 0 ? bytes : null
      })
      const present = got.filter(b => b != null).length
      healthAtEnd[`${present}/${k + m}`] = (healthAtEnd[`${present}/${k + m}`] ?? 0) + 1
      // an owner that left the network for good no longer repairs its packs nor needs them: counted apart
      if (this.departed(pack.owner)) { if (present < k) leftLost++; continue }
      if (present < k) { ownersLost.add(pack.owner); lostPacks.push(explain(pack, got)); continue }
      const data = await this.codec.decode(got, pack.shardSize, pack.length)
      if (createHash('sha256').update(data).digest('hex') !== pack.digest) { ownersLost.add(pack.owner); lostPacks.push(explain(pack, got)); continue }
      verified++
    }
    // what was truly lost, of the owners still here (those that left repair nothing)
    for (const [owner, bytes] of this.lostOf) if (!this.departed(owner)) this.stats.trulyLost += bytes
    for (const [owner, bytes] of this.upOf) if (!this.departed(owner)) this.stats.bytesUp += bytes
    const shardsByCause: Record<RepairCause, number> = { departed: 0, returned: 0, 'found-lost': 0, offline: 0 }
    for (const g of this.regenerated) {
      if (this.departed(g.owner)) continue
      const h = this.hosts[g.host]
      shardsByCause[g.lost ? 'found-lost' : this.departed(g.host) ? 'departed' : h.away != null ? 'returned' : 'offline']++
    }
    const days = this.params.days
    const auditPerDay = this.nodes.map(n => (this.stats.auditBytes[n.index] ?? 0) / days).sort((a, b) => a - b)
    const detections = [...this.cheatStart].map(([h, start]) => this.firstFailure.has(h) ? (this.firstFailure.get(h)! - start) / this.params.auditPeriodMs : Infinity)
    const heldAny = [...this.cheatStart.keys()].filter(h => this.cheated.has(h))
    const sortedDet = detections.filter(Number.isFinite).sort((a, b) => a - b)
    // honest hosts online 90% of the time or more: does any owner penalise them?
    const hours = this.params.days * 24
    const honest90 = this.nodes.filter(n => this.hosts[n.index].behaviour === 'honest' && this.hosts[n.index].onlineHours / hours >= 0.9 && !this.departed(n.index))
    let penalised = 0; let warnedPairs = 0
    for (const h of honest90) {
      let pen = false
      for (const o of h.peers) {
        const rec = this.reps[o].get(h.index)
        if (rec?.state === 'penalised') pen = true
        if (rec?.state === 'warned') warnedPairs++
      }
      if (pen) penalised++
    }
    const q = (a: number[], p: number): number => a.length === 0 ? 0 : a[Math.min(a.length - 1, Math.floor(p * a.length))]
    return {
      params: { nodes: this.nodes.length, groups: this.groups.length, offices: new Set(this.nodes.filter(n => n.office != null).map(n => n.office)).size, days, packs: this.packs.length, shards: this.packs.length * (k + m), k, m, peersPerNode: { min: Math.min(...this.nodes.map(n => n.peers.length)), p50: q(this.nodes.map(n => n.peers.length).sort((a, b) => a - b), 0.5), max: Math.max(...this.nodes.map(n => n.peers.length)) } },
      packsLost: lostPacks.length,
      packsLostOwnerAway: lostPacks.filter(l => l.ownerAway).length,
      lostPacks,
      backupsDeferred: this.stats.backupsDeferred,
      ownersWithoutBackup: this.nodes.filter(n => this.packsOf[n.index].length === 0).length,
      packsOfDepartedOwnersLost: leftLost,
      snapshotsLost: ownersLost.size,
      packsVerified: verified,
      repair: {
        packs: this.stats.repairPacks,
        shards: this.stats.repairShards,
        bytesUp: this.stats.bytesUp,
        bytesDown: this.stats.bytesDown,
        trulyLostBytes: this.stats.trulyLost,
        ratio: this.stats.trulyLost > 0 ? this.stats.bytesUp / this.stats.trulyLost : 0,
        staleDeleted: this.stats.staleDeleted,
        unrecoverableSeen: this.stats.unrecoverableSeen,
        shardsByCause
      },
      audits: { challenges: this.stats.challenges, passed: this.stats.passed, failed: this.stats.failed, bytesPerHostPerDay: { p50: q(auditPerDay, 0.5), p95: q(auditPerDay, 0.95), max: auditPerDay.at(-1) ?? 0 } },
      cheaters: { count: heldAny.length, detected: heldAny.filter(h => this.firstFailure.has(h)).length, maxDetectionPeriods: detections.length > 0 ? Math.max(...heldAny.map(h => detections[[...this.cheatStart.keys()].indexOf(h)])) : 0, medianDetectionPeriods: q(sortedDet, 0.5) },
      honest90: { hosts: honest90.length, penalised, warnedPairs },
      healthAtEnd,
      timeline: this.timeline
    }
  }
}

