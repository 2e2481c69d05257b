import { hostname } from 'node:os'
import { LockedError, StoreUnavailableError } from '../errors.js'
import type { LockRecord } from '../format/format.js'
import type { Repository } from './repository.js'

/**
 * Locks with the repository, as restic keeps them: a lock is a record on the stores, not a file in one
 * home, so two homes of one repository (a recovered home while the old machine still runs, a register
 * rebuilt elsewhere) see each other's locks.
 *
 * - exclusive (prune, forget, archive, repair, rebuild-index) conflicts with every other lock; shared
 *   (backup) conflicts only with an exclusive one;
 * - a lock is held only once a majority of the stores that answered took it, and no conflicting lock
 *   was found before nor right after writing it (two takers at once both back off);
 * - while held it is refreshed (a new record, then the old one deleted); one not refreshed for
 *   `staleMs` is stale, and so is one of a process gone from this machine: a stale lock is removed and
 *   taken over;
 * - a lock that cannot be read (another key, corrupt) conflicts: it may be held by someone.
 */
export type LockKind = 'exclusive' | 'shared'

export interface LockOptions {
  signal?: AbortSignal
  /** how long to wait for a conflicting lock to go (ms; default 0: fail at once with LockedError) */
  waitMs?: number
  /** a lock not refreshed for this long is stale (default 30 min) */
  staleMs?: number
  /** how often a held lock is refreshed (default 5 min; at most a third of staleMs) */
  refreshMs?: number
  /** this process, as the lock names it (tests) */
  pid?: number
}

export const DEFAULT_LOCK_STALE_MS = 30 * 60_000
export const DEFAULT_LOCK_REFRESH_MS = 5 * 60_000

export interface HeldLock {
  readonly name: string
  release: () => Promise<void>
}

export interface Found { name: string, record?: LockRecord, problem?: string }

/** Locks this process holds, by repository object (a nested step of the same operation reuses its lock). */
const heldHere = new WeakMap<Repository, { kind: LockKind, readonly name: string }>()
/**
 * Lock records this process released (or replaced by a refresh). A copy left on a store that was away
 * when it was deleted is this process's own leftover, not a holder: the next taker here removes it (a
 * daemon runs for months, so its pid stays alive and the record would otherwise block for staleMs).
 */
const releasedHere = new Set<string>()

/** Takes a lock on the repository's stores; LockedError (exit 11) naming the holder when it cannot. */
export async function lockRepository (repo: Repository, kind: LockKind, what: string, options: LockOptions = {}): Promise<HeldLock> {
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS
  const refreshMs = Math.min(options.refreshMs ?? DEFAULT_LOCK_REFRESH_MS, Math.max(1000, Math.floor(staleMs / 3)))
  const until = Date.now() + (options.waitMs ?? 0)
  const pid = options.pid ?? process.pid
  // a home without a node identity cannot seal a lock: it relies on its home lock alone
  if (repo.recordKey == null) return { name: '', release: async () => {} }
  // nested in a step of this process that holds the lock already (forget --prune): nothing more to take
  const mine = heldHere.get(repo)
  if (mine != null && (mine.kind === 'exclusive' || kind === 'shared')) return { name: mine.name, release: async () => {} }
  for (;;) {
    const conflict = await findConflict(repo, kind, staleMs, options.signal)
    if (conflict == null) {
      const record: LockRecord = { v: 1, kind, what, hostname: hostname(), home: repo.home, pid, created: new Date().toISOString(), refreshed: new Date().toISOString() }
      const name = await putLock(repo, record, options.signal)
      // someone else may have written theirs at the same moment: both look again, and both back off
      const after = await findConflict(repo, kind, staleMs, options.signal, name)
      if (after == null) {
        const held = hold(repo, name, record, refreshMs, options.signal)
        heldHere.set(repo, { kind, get name () { return held.name } })
        return { get name () { return held.name }, release: async () => { heldHere.delete(repo); await held.release() } }
      }
      await deleteLock(repo, name)
      if (Date.now() >= until) throw lockedError(after)
    } else if (Date.now() >= until) {
      throw lockedError(conflict)
    }
    await sleep(Math.min(2000, Math.max(100, until - Date.now())), options.signal)
  }
}

/** Runs `fn` under a lock on the repository's stores (re-entrant within this process). */
export async function withRepositoryLock<T> (repo: Repository, kind: LockKind, what: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const lock = await lockRepository(repo, kind, what, { ...repo.lockSettings, signal })
  try {
    return await fn()
  } finally {
    await lock.release()
  }
}

function lockedError (f: Found): Error {
  if (f.record == null) return new LockedError(`the repository is locked: lock ${f.name.slice(0, 12)} on the stores cannot be read (${f.problem ?? 'unknown'}); "holdfast unlock" removes it if nobody holds it`)
  const r = f.record
  return new LockedError(`the repository is locked by ${r.what} (${r.kind}), process ${r.pid} on host ${r.hostname}, home ${r.home}, for ${age(Date.parse(r.created))}`)
}

function age (since: number): string {
  const s = Math.max(0, Math.round((Date.now() - since) / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`
}

/** The locks on the stores now, each read and authenticated (or with why it could not be). */
export async function listLocks (repo: Repository, signal?: AbortSignal): Promise<Found[]> {
  const listed = await repo.listRecordNames('lock', { signal, timeoutMs: 20_000 })
  const out: Found[] = []
  for (const name of listed.names) {
    try {
      out.push({ name, record: await repo.getRecord<LockRecord>('lock', name, { signal }) })
    } catch (err) {
      if (signal?.aborted === true) throw err
      if ((err as Error).name === 'NotFoundError') continue // released meanwhile
      out.push({ name, problem: (err as Error).message })
    }
  }
  return out
}

/** Whether this process released (or removed) the lock of that name: a copy left on a store is a leftover. */
export function releasedByThisProcess (name: string): boolean {
  return releasedHere.has(name)
}

/** Whether a lock is stale: not refreshed within staleMs, or its process is gone from this machine. */
export function isStale (record: LockRecord, staleMs: number, now = Date.now()): boolean {
  const refreshed = Date.parse(record.refreshed)
  if (!Number.isFinite(refreshed) || now - refreshed > staleMs) return true
  if (record.hostname === hostname()) {
    try { process.kill(record.pid, 0) } catch (err) { return (err as NodeJS.ErrnoException).code === 'ESRCH' }
  }
  return false
}

async function findConflict (repo: Repository, kind: LockKind, staleMs: number, signal?: AbortSignal, own?: string): Promise<Found | undefined> {
  for (const f of await listLocks(repo, signal)) {
    if (f.name === own) continue
    if (releasedHere.has(f.name)) { await deleteLock(repo, f.name); continue } // our own, released before
    if (f.record == null) return f
    if (isStale(f.record, staleMs)) { await deleteLock(repo, f.name); continue } // taken over
    if (kind === 'exclusive' || f.record.kind === 'exclusive') return f
  }
  return undefined
}

/** Puts a lock record on every store; it must reach a majority of the stores that answered. */
async function putLock (repo: Repository, record: LockRecord, signal?: AbortSignal): Promise<string> {
  const results = await repo.putRecordEverywhere('lock', record, { signal })
  const answered = results.stores.filter(r => !(r.error instanceof StoreUnavailableError)).length
  const took = results.stores.filter(r => r.error == null).length
  if (took === 0 || took <= answered / 2) {
    await deleteLock(repo, results.name)
    throw new LockedError(`the lock could not be taken: ${took} of ${answered} stores that answered took it (a majority is needed)${results.stores.filter(r => r.error != null).map(r => `; ${r.store}: ${r.error!.message}`).join('')}`)
  }
  return results.name
}

/** Removes a lock from every store (holdfast unlock). */
export async function removeLock (repo: Repository, name: string): Promise<void> {
  await deleteLock(repo, name)
}

async function deleteLock (repo: Repository, name: string): Promise<void> {
  // whatever this process deletes is gone for it, even where a store kept a copy
  releasedHere.add(name)
  await Promise.allSettled(repo.stores.map(async s => { await s.delete('lock', name) }))
}

function hold (repo: Repository, first: string, record: LockRecord, refreshMs: number, signal?: AbortSignal): HeldLock {
  let name = first
  let released = false
  let refreshing: Promise<void> | undefined
  const timer = setInterval(() => {
    if (released || refreshing != null) return
    refreshing = (async () => {
      const next = await putLock(repo, { ...record, refreshed: new Date().toISOString() }, signal)
      const old = name
      name = next
      await deleteLock(repo, old)
    })().catch(() => {}).finally(() => { refreshing = undefined })
  }, refreshMs)
  timer.unref()
  return {
    get name () { return name },
    release: async () => {
      if (released) return
      released = true
      clearInterval(timer)
      await refreshing
      await deleteLock(repo, name)
    }
  }
}

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal!.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
