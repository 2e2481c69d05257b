/**
 * Shared helpers for the CLI integration tests: temporary directories, running the CLI against a home,
 * creating repositories and sample files, and listing directories to compare them before and after.
 */
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { runCli, RunResult } from '../../scripts/lib/cli-runner.js'
import { shardFiles } from '../../scripts/lib/shard-files.js'
import type { SnapshotRecord, SnapshotSummary } from '../../src/format/format.js'

export const PASSPHRASE = 'integration test passphrase'

/**
 * Pack size of the test repositories: small, so that a few MiB of test data span several packs.
 * HOLDFAST_IT_PACK_SIZE overrides it (and the 1 MiB of the interrupted-backup test), e.g. to tell a
 * pack-size bug from others.
 */
export const PACK_SIZE = process.env.HOLDFAST_IT_PACK_SIZE ?? '256KiB'
export const PACK_SIZE_OVERRIDDEN = process.env.HOLDFAST_IT_PACK_SIZE != null

export async function makeTempDir (label: string): Promise<string> {
  return await mkdtemp(join(tmpdir(), `holdfast-it-${label}-`))
}

export async function removeDir (dir: string | undefined): Promise<void> {
  if (dir != null) await rm(dir, { recursive: true, force: true, maxRetries: 3 })
}

/** Runs the CLI with this home and the test passphrase (both can be overridden through env). */
export async function hf (home: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: Uint8Array): Promise<RunResult> {
  return await runCli(args, { HOLDFAST_HOME: home, HOLDFAST_PASSPHRASE: PASSPHRASE, HOLDFAST_DEBUG: '', ...env }, { timeoutMs: 120_000, ...(input != null ? { input } : {}) })
}

/** Asserts an exit code, showing the command's output when it differs. */
export function expectCode (r: RunResult, code: number, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, expected ${code}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`)
}

export function parseJson<T> (r: RunResult, what: string): T {
  try {
    return JSON.parse(r.stdout) as T
  } catch (err) {
    assert.fail(`${what}: stdout is not JSON (${(err as Error).message})\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`)
  }
}

export interface TestRepo {
  dir: string
  home: string
  stores: string[]
}

/** Creates a repository in dir/home with `count` stores dir/stores/s1..sN (4+2 and 256 KiB packs by default). */
export async function initRepo (dir: string, options: { count?: number, k?: number, m?: number, packSize?: string } = {}): Promise<TestRepo> {
  const count = options.count ?? 6
  const home = join(dir, 'home')
  const stores = Array.from({ length: count }, (_, i) => join(dir, 'stores', `s${i + 1}`))
  const args = ['init', ...stores.flatMap(s => ['--store', `dir:${s}`]),
    '--data-shards', String(options.k ?? 4), '--parity-shards', String(options.m ?? 2), '--pack-size', options.packSize ?? PACK_SIZE]
  expectCode(await hf(home, args), 0, 'init')
  return { dir, home, stores }
}

/** What `backup --json` prints: the snapshot's summary and a few fields more. */
export interface BackupSummary extends SnapshotSummary {
  snapshot: string
  short: string
  partial: boolean
  warnings: Array<{ path: string, message: string }>
}

export interface SnapshotInfo extends Omit<SnapshotRecord, 'v' | 'summary'> {
  id: string
  short: string
  summary: Omit<BackupSummary, 'snapshot' | 'short' | 'partial' | 'warnings'>
}

export async function backupJson (home: string, paths: string[], expectedCode = 0): Promise<BackupSummary> {
  const r = await hf(home, ['backup', '--json', ...paths])
  expectCode(r, expectedCode, `backup ${paths.join(' ')}`)
  return parseJson<BackupSummary>(r, 'backup --json')
}

export async function snapshotsJson (home: string): Promise<SnapshotInfo[]> {
  const r = await hf(home, ['snapshots', '--json'])
  expectCode(r, 0, 'snapshots --json')
  return parseJson<SnapshotInfo[]>(r, 'snapshots --json')
}

/** Writes `size` random bytes. */
export async function writeRandom (path: string, size: number): Promise<Buffer> {
  const data = randomBytes(size)
  await writeFile(path, data)
  return data
}

export async function sha256File (path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex')
}

/** Every entry below root (relative path, type, size, mtime in ns, mode), sorted: to detect any change. */
export async function listing (root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name)
      const st = await lstat(p, { bigint: true })
      const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : 'o'
      out.push(`${type} ${relative(root, p)} size=${st.isDirectory() ? '-' : st.size} mtime=${st.mtimeNs} mode=${(st.mode & 0o7777n).toString(8)}`)
      if (st.isDirectory()) await walk(p)
    }
  }
  await walk(root)
  return out
}

/** Relative paths of every entry below root (directories included), sorted. */
export async function allPaths (root: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name)
      out.push(relative(root, p))
      if ((await lstat(p)).isDirectory()) await walk(p)
    }
  }
  await walk(root)
  return out
}

/** Every regular file below root, with its content's SHA-256. */
export async function fileHashes (root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for (const rel of await allPaths(root)) {
    const st = await lstat(join(root, rel))
    if (st.isFile()) out.set(rel, await sha256File(join(root, rel)))
  }
  return out
}

/** Shard files in a store directory (ROOT/shard/<2 hex>/<64 hex>). */
export { shardFiles }

export async function countShards (stores: string[]): Promise<number> {
  let n = 0
  for (const s of stores) n += (await shardFiles(s)).length
  return n
}

/** Saves the stores' contents so that destructive tests can put them back. */
export async function saveStores (repo: TestRepo, to: string): Promise<() => Promise<void>> {
  await mkdir(to, { recursive: true })
  for (let i = 0; i < repo.stores.length; i++) await cp(repo.stores[i], join(to, `s${i + 1}`), { recursive: true, preserveTimestamps: true })
  return async () => {
    for (let i = 0; i < repo.stores.length; i++) {
      await rm(repo.stores[i], { recursive: true, force: true })
      await cp(join(to, `s${i + 1}`), repo.stores[i], { recursive: true, preserveTimestamps: true })
    }
  }
}

/** Temporary files a restore leaves behind while it writes (.hf-XXXXXXXXXXXX.tmp). */
export async function leftoverTempFiles (root: string): Promise<string[]> {
  return (await allPaths(root)).filter(p => /^\.hf-[0-9a-f]{12}\.tmp$/.test(p.split("/").pop()!))
}

export async function readLinkOrNull (path: string): Promise<string | null> {
  try { return await readlink(path) } catch { return null }
}

/** Pairs the owner with each host: the host invites, the owner accepts (1 GiB each way), naming it `name(i)`. */
export async function pairWithHosts (owner: { home: string }, hosts: Array<{ home: string }>, name: (i: number) => string | undefined = i => `host${i + 1}`): Promise<void> {
  for (const [i, h] of hosts.entries()) {
    const inv = await hf(h.home, ['peers', 'invite', '--quota', '1GiB'])
    expectCode(inv, 0, 'invite')
    const n = name(i)
    expectCode(await hf(owner.home, ['peers', 'accept', inv.stdout.trim(), '--quota', '1GiB', ...(n != null ? ['--name', n] : [])]), 0, 'accept')
  }
}

/**
 * Polls `check` every 200 ms until it returns a value other than undefined (a check that throws counts as
 * not yet, its error is reported on timeout); fails after `ms`.
 */
export async function waitFor<T> (what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) { last = err }
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}${last != null ? ` (last error: ${(last as Error).message})` : ''}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}
