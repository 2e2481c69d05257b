import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { ConfigError, LockedError, RepositoryNotFoundError, UnsupportedFormatError } from '../errors.js'
import type { HomeConfig } from '../format/format.js'

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

export const homePaths = (home: string): { config: string, key: string, register: string, lock: string, repoConfig: string, kitHoldsKey: string } => ({
  config: join(home, 'holdfast.json'),
  /** the sealed repository config, as in the stores (peers may be offline when the repository is opened) */
  repoConfig: join(home, 'repository-config'),
  key: join(home, 'key.json'),
  register: join(home, 'register'),
  lock: join(home, 'lock'),
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


function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

/** Takes the home's exclusive lock; a lock left by a dead process is taken over. Returns the release function. */
export async function acquireLock (home: string, what: string): Promise<() => Promise<void>> {
  const path = homePaths(home).lock
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify({ pid: process.pid, what, since: new Date().toISOString() }), { flag: 'wx', mode: 0o600 })
      return async () => { await rm(path, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let holder: { pid: number, what: string } | undefined
      try { holder = JSON.parse(await readFile(path, 'utf8')) } catch {}
      if (holder != null && alive(holder.pid)) throw new LockedError(`the repository is locked by process ${holder.pid} (${holder.what})`)
      await rm(path, { force: true })
    }
  }
  throw new LockedError('could not take the repository lock')
}
