import { hostname } from 'node:os'
import { Register } from './register.js'
import { EphemeralRegister } from './ephemeral-register.js'
import { homePaths, lockHolder } from '../home/home.js'
import { LockedError } from '../errors.js'
import { describeLockHolder, type LockHolder } from '../util/lock-holder.js'
import { retryUntil } from '../util/retry-until.js'

export interface OpenRegisterOptions {
  /** a session that only reads: when another process holds the register, it gets an EphemeralRegister */
  readOnly?: boolean
  /** the caller holds the home's lock (a writer): whoever holds the register is a reader, and is waited for */
  holdsLock?: boolean
  /** how long to wait for another process to let go of the register, in ms (default 0) */
  wait?: number
  signal?: AbortSignal
}

/**
 * How long a writer that holds the home's lock waits at least for the register: another process holds it
 * then only to read (snapshots, ls, an audit), usually for a moment.
 */
export const READER_GRACE_MS = 5000

/**
 * Opens the home's register (shared with this process's other sessions). LevelDB admits one process: when
 * another holds it, a read-only session gets a register of its own, built from the stores (the caller
 * fills it: fillEphemeral), and any other waits up to `wait` ms, then gets LockedError naming the holder of
 * the home's lock when there is one.
 */
export async function openRegister (home: string, options: OpenRegisterOptions = {}): Promise<Register> {
  const path = homePaths(home).register
  let lockedBy: unknown
  const attempt = async (): Promise<Register | undefined> => {
    try {
      return await Register.openShared(path)
    } catch (err) {
      if (!isLockedByAnotherProcess(err)) throw err
      lockedBy = err
      return undefined
    }
  }
  if (options.readOnly === true) {
    // a writer of another process holds the home's lock: it has the register, or is about to open it
    // (a reader that took it first would make that writer fail)
    const holder = await lockHolder(home)
    if (holder != null && !isThisProcess(holder)) return await EphemeralRegister.create(home)
    return await attempt() ?? await EphemeralRegister.create(home)
  }
  const wait = options.holdsLock === true ? Math.max(options.wait ?? 0, READER_GRACE_MS) : options.wait ?? 0
  const register = await retryUntil(attempt, { wait, signal: options.signal })
  if (register != null) return register
  const holder = await lockHolder(home)
  // this process's own lock (a writer that took it) does not say who holds the register
  const named = holder != null && !isThisProcess(holder)
  throw new LockedError(`the register of ${home} is in use by ${named ? describeLockHolder(holder) : 'another process (a command reading the repository, an audit or a daemon)'}`, { cause: lockedBy })
}

/** classic-level's error for a database whose LOCK another process holds (not a corrupt or missing one). */
export function isLockedByAnotherProcess (err: unknown): boolean {
  const e = err as { code?: string, cause?: { code?: string } } | null
  return e?.code === 'LEVEL_DATABASE_NOT_OPEN' && e.cause?.code === 'LEVEL_LOCKED'
}

function isThisProcess (holder: LockHolder): boolean {
  return holder.pid === process.pid && (holder.hostname ?? hostname()) === hostname()
}
