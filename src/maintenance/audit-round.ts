import { createChallenge, verifyAnswer } from '../audit/challenge.js'
import { newReputation, parseReputation, score, updateReputation, type Reputation, type ReputationState } from '../audit/reputation.js'
import { AbortedError, NotFoundError } from '../errors.js'
import type { PackLayout } from '../format/format.js'
import type { ShardCheck } from '../repository/register.js'
import type { Repository } from '../repository/repository.js'
import type { ShardStore } from '../store/shard-store.js'
import { forEachLimit } from '../util/for-each-limit.js'

export interface AuditRoundOptions {
  signal?: AbortSignal
  /** Segments challenged per shard (default 1: one segment and its path, about 1.4 KiB on the wire). */
  segments?: number
  /** Challenges in flight at once (default 8). */
  concurrency?: number
  /** Only these packs (default: every pack in the register). */
  packs?: PackLayout[]
  /** Only these shards (pack id and index); overrides `packs`. */
  shards?: Array<{ pack: string, index: number }>
  onProgress?: (event: AuditProgress) => void
  /** The clock (tests). */
  now?: () => number
}

export interface AuditProgress { type: 'audit:progress', done: number, total: number }

/** One shard's outcome in a round. */
export interface ShardAudit {
  pack: string
  index: number
  store: string
  outcome: ShardCheck['outcome']
  reason?: string
}

/** What a round found for one store (peer). */
export interface StoreAudit {
  store: string
  challenged: number
  passed: number
  failed: number
  unreachable: number
  /** The store's standing after this round (src/audit/reputation.ts): a failure warns before it penalises. */
  state?: ReputationState
  /** Its placement weight in [0, 1] (0 only when penalised). */
  score?: number
}

export interface AuditReport {
  started: number
  durationMs: number
  shards: number
  stores: StoreAudit[]
  /** Every shard that failed (lost or corrupt at its store) or whose store could not be reached. */
  problems: ShardAudit[]
}

/**
 * One audit round: every shard of every pack (or of `packs`) is challenged at the store it was placed on.
 * The owner alone checks the answer against the Merkle root in its own index (src/audit/challenge.ts): a
 * fresh nonce and fresh random segment indices per challenge, so neither a replayed answer nor a guess
 * passes. A wrong or missing answer marks the shard lost at once ('fail'); a store that cannot be reached
 * is 'unreachable', which is not a failure. Outcomes are written to the register as they come.
 */
export async function auditRound (repo: Repository, options: AuditRoundOptions = {}): Promise<AuditReport> {
  const now = options.now ?? Date.now
  const started = now()
  const segments = options.segments ?? 1
  const jobs = options.shards != null
    ? options.shards.flatMap(s => { const desc = repo.register.packs.get(s.pack); return desc != null && s.index < desc.shards.length ? [{ desc, index: s.index }] : [] })
    : (options.packs ?? [...repo.register.packs.values()]).flatMap(desc => desc.shards.map((_, index) => ({ desc, index })))
  const stores = new Map<string, StoreAudit>()
  const problems: ShardAudit[] = []
  let done = 0
  let pending: Array<{ pack: string, index: number, check: ShardCheck }> = []
  const flush = async (): Promise<void> => {
    const batch = pending
    pending = []
    await repo.register.putShardChecks(batch)
  }

  // what the hosts' own scrubs found corrupt (and removed) counts as failed without a challenge
  const reported = new Set<string>()
  await Promise.all(repo.stores.map(async store => {
    if (store.damaged == null || store.reachable?.() === false) return
    try {
      for (const d of await store.damaged({ signal: options.signal })) if (d.kind === 'shard') reported.add(`${store.id}!${d.name}`)
    } catch (err) {
      if (options.signal?.aborted === true) throw err
    }
  }))

  await forEachLimit(jobs, options.concurrency ?? 8, async ({ desc, index }) => {
    if (options.signal?.aborted === true) throw new AbortedError('audit aborted', { cause: options.signal.reason })
    const info = desc.shards[index]
    const result = reported.has(`${info.store}!${info.name}`)
      ? { store: info.store, outcome: 'fail' as const, reason: 'reported corrupt by the host\'s own scrub' }
      : await auditShard(repo.storesFor(info.store), desc, index, segments, options.signal)
    const entry = stores.get(result.store) ?? { store: result.store, challenged: 0, passed: 0, failed: 0, unreachable: 0 }
    stores.set(result.store, entry)
    entry.challenged++
    if (result.outcome === 'pass') entry.passed++
    else if (result.outcome === 'fail') entry.failed++
    else entry.unreachable++
    if (result.outcome !== 'pass') problems.push({ pack: desc.id, index, ...result })
    pending.push({ pack: desc.id, index, check: { at: now(), ...result } })
    if (pending.length >= 256) await flush()
    options.onProgress?.({ type: 'audit:progress', done: ++done, total: jobs.length })
  })
  await flush()
  await updateReputations(repo, stores, now())
  return { started, durationMs: now() - started, shards: jobs.length, stores: [...stores.values()].sort((a, b) => a.store.localeCompare(b.store)), problems }
}

/**
 * Feeds the round's verdicts to each store's reputation: a store that answered is seen online, each
 * passed or failed challenge counts; a store that could not be reached is seen offline, which is not a
 * failure.
 */
async function updateReputations (repo: Repository, stores: Map<string, StoreAudit>, at: number): Promise<void> {
  const known = await repo.register.reputations()
  for (const s of stores.values()) {
    let rec: Reputation
    try { rec = known.has(s.store) ? parseReputation(known.get(s.store)) : newReputation(at) } catch { rec = newReputation(at) }
    const answered = s.passed + s.failed > 0
    rec = updateReputation(rec, { type: answered ? 'online' : 'offline', at })
    for (let i = 0; i < s.passed; i++) rec = updateReputation(rec, { type: 'pass', at })
    for (let i = 0; i < s.failed; i++) rec = updateReputation(rec, { type: 'fail', at })
    await repo.register.putReputation(s.store, rec)
    s.state = rec.state
    s.score = score(rec, at)
  }
}

/** Challenges one shard at its store; the outcome and, when it is not a pass, why. */
export async function auditShard (candidates: ShardStore[], desc: PackLayout, index: number, segments: number, signal?: AbortSignal): Promise<{ store: string, outcome: ShardCheck['outcome'], reason?: string }> {
  const info = desc.shards[index]
  // a shard whose store is no longer configured under its id cannot be pinned on anyone
  if (candidates.length !== 1) return { store: info.store, outcome: 'unreachable', reason: `store ${info.store} is not configured` }
  const store = candidates[0]
  const expected = { root: info.root, shardSize: desc.shardSize, segmentSize: desc.segmentSize }
  const challenge = createChallenge({ shardSize: desc.shardSize, segmentSize: desc.segmentSize, count: segments })
  try {
    const answer = store.prove != null
      ? await store.prove('shard', info.name, { nonce: challenge.nonce, segmentSize: desc.segmentSize, indices: challenge.indices }, { signal })
      : await proveByReading(store, info.name, desc.segmentSize, challenge, signal)
    const verdict = verifyAnswer(expected, challenge, answer)
    return verdict.ok ? { store: store.id, outcome: 'pass' } : { store: store.id, outcome: 'fail', reason: verdict.reason ?? 'wrong answer' }
  } catch (err) {
    if (signal?.aborted === true) throw err
    const e = err as Error
    if (e instanceof NotFoundError) return { store: store.id, outcome: 'fail', reason: 'missing' }
    if (isUnreachable(e)) {
      // a store that answers other requests but not this one is evading the challenge, not offline
      const there = await store.has('shard', info.name, { signal }).then(() => true, () => false)
      if (!there) return { store: store.id, outcome: 'unreachable', reason: e.message }
      return { store: store.id, outcome: 'fail', reason: `the store answers but not the challenge (${e.message})` }
    }
    // the store answered, but not with a proof (a refusal, a broken message): it failed the challenge
    return { store: store.id, outcome: 'fail', reason: `${e.name}: ${e.message}` }
  }
}

/** A store without `prove`: read the shard and answer for it here (the check is the same, only costlier). */
async function proveByReading (store: ShardStore, name: string, segmentSize: number, challenge: { nonce: Uint8Array, indices: number[] }, signal?: AbortSignal): Promise<{ nonce: Uint8Array, proofs: Array<{ index: number, segment: Uint8Array, path: Uint8Array[] }> }> {
  const { answerChallenge } = await import('../audit/challenge.js')
  return answerChallenge(await store.get('shard', name, { signal }), segmentSize, challenge)
}

function isUnreachable (e: Error): boolean {
  return e.name === 'StoreUnavailableError' || e.name === 'PeerUnreachableError' || e.name === 'TimeoutError' || e.name === 'AbortError'
}
