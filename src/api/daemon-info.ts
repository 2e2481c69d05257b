import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../util/write-file-atomic.js'

/**
 * HOME/daemon.json, written by a daemon when it is ready and removed when it stops: its peer ID, listen
 * addresses and the API socket's path (for people and scripts; the CLI does not go by it, it connects to
 * HOME/api.sock only). HOME/api.token (0600) holds the API's bearer token.
 */
export interface DaemonInfo {
  pid: number
  peerId: string
  addresses: string[]
  /** The API's Unix socket (HOME/api.sock). */
  api: string
  /** Where the dashboard, the REST API and /metrics answer (http://127.0.0.1:PORT), when they do. */
  gui?: string
  started: string
}

export const daemonInfoPath = (home: string): string => join(home, 'daemon.json')
export const apiTokenPath = (home: string): string => join(home, 'api.token')
/** The control API's Unix domain socket: the only place the CLI sends its token and passphrases to. */
export const apiSocketPath = (home: string): string => join(home, 'api.sock')

export async function writeDaemonInfo (home: string, info: DaemonInfo): Promise<void> {
  await writeFileAtomic(daemonInfoPath(home), JSON.stringify(info, null, 2) + '\n', 0o600)
}

export async function removeDaemonInfo (home: string, pid = process.pid): Promise<void> {
  const info = await readDaemonInfo(home)
  if (info?.pid === pid) await rm(daemonInfoPath(home), { force: true })
}

/** The running daemon's info, or undefined when none runs (no file, or its process is gone). */
export async function readDaemonInfo (home: string): Promise<DaemonInfo | undefined> {
  let info: DaemonInfo
  try { info = JSON.parse(await readFile(daemonInfoPath(home), 'utf8')) } catch { return undefined }
  if (typeof info?.pid !== 'number' || typeof info.api !== 'string') return undefined
  try { process.kill(info.pid, 0) } catch (err) { if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined }
  return info
}

/** A new random token for this daemon run. */
export async function newApiToken (home: string): Promise<string> {
  const token = randomBytes(32).toString('base64url')
  await writeFileAtomic(apiTokenPath(home), token + '\n', 0o600)
  return token
}

export async function readApiToken (home: string): Promise<string> {
  return (await readFile(apiTokenPath(home), 'utf8')).trim()
}
