import { homedir, hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { link, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, dirname } from 'node:path'
import { ConfigError, LockedError, RepositoryNotFoundError, UnsupportedFormatError } from '../errors.js'
import type { HomeConfig } from '../format/format.js'
import { formatAge } from '../util/duration.js'
import { describeLockHolder, parseLockHolder, type LockHolder } from '../util/lock-holder.js'
import { processAlive } from '../util/process-alive.js'
import { retryUntil } from '../util/retry-until.js'

/**
 * A node's home directory: holdfast.json (where the stores are), key.json (the wrapped key, also kept in
 * every store), register/ (the LevelDB cache) and a lock file while an operation writes.
 */
export function defaultHome (env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOLDFAST_HOME != null && env.HOLDFAST_HOME !== '') return resolve(env.HOLDFAST_HOME)
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'Holdfast')
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'Holdfast')
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'holdfast')
}

export const homePaths = (home: string): { config: string, key: string, register: string, lock: string, repoConfig: string, kitHoldsKey: string, restorePlans: string } => ({
  config: join(home, 'holdfast.json'),
  /** the sealed repository config, as in the stores (peers may be offline when the repository is opened) */
  repoConfig: join(home, 'repository-config'),
  key: join(home, 'key.json'),
  register: join(home, 'register'),
  lock: join(home, 'lock'),
  /** restores' plans (LevelDB each, removed when the restore ends) */
  restorePlans: join(home, 'restore-plans'),
  /** present once a recovery kit holding the key file was made: peers then keep no copy of the key file */
  kitHoldsKey: join(home, 'kit-holds-key')
})

export async function readHomeConfig (home: string): Promise<HomeConfig> {
  let text: string
  try {
    text = await readFile(homePaths(home).config, 'utf8')
  } catch (err) {
    throw new RepositoryNotFoundError(`no Holdfast repository in ${home} (run "holdfast init" first, or pass --home)`, { cause: err })
  }
  let cfg: HomeConfig
  try { cfg = JSON.parse(text) } catch (err) { throw new ConfigError(`${homePaths(home).config} is not valid JSON`, { cause: err }) }
  if (cfg.version !== 1) throw new UnsupportedFormatError(`home config version ${String(cfg.version)} is not supported`)
  if (!Array.isArray(cfg.stores) || (cfg.stores.length === 0 && cfg.peers !== true)) throw new ConfigError(`${homePaths(home).config} lists no stores`)
  return cfg
}


/** What acquireLock waits for, and how long. */
export interface LockOptions {
  /** how long to wait for the holder to let go, in ms (default 0: fail at once) */
  wait?: number
  signal?: AbortSignal
}

/** A lock file that is not a lock record (torn by a crash, or just created and not yet written) is stale after this. */
const UNREADABLE_LOCK_STALE_MS = 10_000

/**
 * Takes the home's exclusive lock for `what` (a command's name), waiting up to `options.wait` ms for the
 * holder to let go; otherwise LockedError naming the holder (host, pid, what, for how long). A lock left by
 * a dead process of this host is taken over. Returns the release function.
 */
export async function acquireLock (home: string, what: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const path = homePaths(home).lock
  await removeDeadTemporaries(path)
  let holder: LockHolder | undefined
  const release = await retryUntil(async () => {
    const r = await tryLock(path, { pid: process.pid, hostname: hostname(), home: resolve(home), what, since: new Date().toISOString() })
    if (typeof r === 'function') return r
    holder = r.holder
    return undefined
  }, options)
  if (release != null) return release
  const waited = (options.wait ?? 0) > 0 ? ` (waited ${formatAge(options.wait ?? 0)})` : ''
  throw new LockedError(`the repository is locked by ${holder != null ? describeLockHolder(holder) : 'another process'}${waited}`)
}

/** The live holder of the home's lock, if any (a lock of a dead process is no holder). */
export async function lockHolder (home: string): Promise<LockHolder | undefined> {
  const seen = await readLock(homePaths(home).lock)
  return seen?.holder != null && !isStale(seen) ? seen.holder : undefined
}

/** One attempt: the release function, or who holds the lock (undefined when the lock file does not say). */
async function tryLock (path: string, me: LockHolder): Promise<(() => Promise<void>) | { holder?: LockHolder }> {
  const mine = JSON.stringify(me)
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await createWhole(path, mine)
      return async () => {
        // only our own: never a lock another process took over (it judged this one stale)
        if ((await readFile(path, 'utf8').catch(() => undefined)) === mine) await rm(path, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const seen = await readLock(path)
    if (seen == null) continue // released meanwhile
    if (!isStale(seen)) return { holder: seen.holder }
    // taken over only while it is still the one judged stale (another taker may have replaced it meanwhile)
    if ((await readFile(path, 'utf8').catch(() => undefined)) === seen.text) await rm(path, { force: true })
  }
  return {}
}

/**
 * Creates the file with its content in one step, or fails with EEXIST: the content is written to a
 * temporary file first, then linked under the name (link does not replace). A process killed at any
 * moment leaves no empty or torn lock file that would hold the next taker back (a torn one is judged
 * only by its age). Where the file system has no hard links, an exclusive create and write instead.
 */
async function createWhole (path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, text, { flag: 'wx', mode: 0o600 })
  try {
    await link(tmp, path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err
    await writeFile(path, text, { flag: 'wx', mode: 0o600 })
  } finally {
    await rm(tmp, { force: true })
  }
}

/** Temporary lock files (createWhole) that processes of this host killed mid-way left behind. */
async function removeDeadTemporaries (path: string): Promise<void> {
  const prefix = `${basename(path)}.`
  let names: string[]
  try { names = await readdir(dirname(path)) } catch { return }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length)) : null
    if (m != null && !processAlive(Number(m[1]))) await rm(join(dirname(path), name), { force: true })
  }
}

interface SeenLock { text: string, holder?: LockHolder, mtimeMs: number }

async function readLock (path: string): Promise<SeenLock | undefined> {
  try {
    const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)])
    return { text, holder: parseLockHolder(text), mtimeMs: st.mtimeMs }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** A holder of this host that is gone, or a lock file that has said nothing for a while. */
function isStale (seen: SeenLock): boolean {
  const h = seen.holder
  if (h == null) return Date.now() - seen.mtimeMs > UNREADABLE_LOCK_STALE_MS
  // a process of another host (a home on a shared disk) cannot be checked from here: it holds until it lets go
  return (h.hostname == null || h.hostname === hostname()) && !processAlive(h.pid)
}
