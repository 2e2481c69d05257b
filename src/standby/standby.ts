import { lstat, mkdir, readFile, realpath, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Repository } from '../repository/repository.js'
import { diffTrees } from '../query/diff-snapshots.js'
import { samePaths } from '../repository/snapshot-filter.js'
import { restore, type RestoreEvent, type RestoreResult } from '../restore/restore.js'
import { RestorePlan, restoreScope } from '../restore/restore-plan.js'
import { homePaths } from '../home/home.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import { checkAbort } from '../util/check-abort.js'
import { NoSuchSnapshotError, UsageError } from '../errors.js'

/** What the standby folder holds, kept in it (written last, once a snapshot is applied whole). */
export const STANDBY_STATE = '.holdfast-standby.json'

export interface StandbyState { v: 1, snapshot: string, tree: string, paths: string[], applied: string }

export interface StandbyResult {
  /** the snapshot the folder holds now */
  snapshot: string
  /** the one it held before (none: the first time) */
  previous?: string
  /** nothing to do: the folder held the latest snapshot already */
  upToDate: boolean
  /** entries removed because the new snapshot no longer has them, or has them changed (then written again) */
  removed: number
  restored?: RestoreResult
}

export interface StandbyOptions {
  /** the snapshots to follow: those of exactly these paths (a set's); default every snapshot */
  paths?: string[]
  signal?: AbortSignal
  onProgress?: (event: RestoreEvent) => void
}

async function readState (target: string): Promise<StandbyState | undefined> {
  let text: string
  try { text = await readFile(join(target, STANDBY_STATE), 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  const s = JSON.parse(text) as StandbyState
  if (s?.v !== 1 || typeof s.snapshot !== 'string' || typeof s.tree !== 'string') throw new UsageError(`${join(target, STANDBY_STATE)} is not a standby state this version reads`)
  return s
}

/**
 * Removes `path` (a snapshot path) below `base` unless something on the way is not a real directory of
 * the folder (a symlink put there would lead outside it; the restore then reports that path).
 */
async function removeInside (base: string, path: string): Promise<'removed' | 'absent' | 'refused'> {
  const parts = path.split('/').filter(Boolean)
  let at = base
  for (const part of parts) {
    const last = at === join(base, ...parts.slice(0, -1))
    at = join(at, part)
    try {
      const st = await lstat(at)
      if (!last && !st.isDirectory()) return 'refused'
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent'
      throw err
    }
  }
  await rm(at, { recursive: true, force: true })
  return 'removed'
}

/**
 * Brings the standby folder `target` to the latest snapshot (of `paths`, when given): the entries the
 * snapshot it held had and the new one has not, or has changed (content, type or metadata), are removed,
 * then the snapshot is restored over the folder with the if-changed policy and every file written is read
 * back and checked (--verify): only what changed is fetched and written, each file under a temporary name
 * until whole. The state file is written last, so a standby interrupted or lagging behind catches up on
 * the next call. The first call restores the whole snapshot into the folder.
 */
export async function updateStandby (repo: Repository, target: string, options: StandbyOptions = {}): Promise<StandbyResult> {
  const base = resolve(target)
  const all = await repo.register.snapshots()
  const wanted = options.paths?.slice().sort()
  const matching = wanted == null ? all : all.filter(s => samePaths(s.snapshot.paths, wanted))
  const latest = matching.at(-1)
  if (latest == null) throw new NoSuchSnapshotError(wanted == null ? 'the repository has no snapshots yet' : `no snapshot of ${wanted.join(', ')} yet`)
  // the folder is a replica the standby removes things from: never the originals ("/"), and never inside
  // what the snapshots back up (the standby would be backed up, and what it removes could be the user's)
  const inside = base === '/' ? '/' : latest.snapshot.paths.find(p => base === p || base.startsWith(p === '/' ? '/' : `${p}/`))
  if (inside != null) throw new UsageError(`the standby folder ${base} is ${base === '/' ? 'the root: a standby cannot be the original files' : `inside ${inside}, which the snapshots back up`}; choose a folder of its own`)
  const state = await readState(base)
  if (state?.snapshot === latest.name) return { snapshot: latest.name, previous: state.snapshot, upToDate: true, removed: 0 }
  // the folder claimed before anything in it is removed: another restore or standby writing there is
  // refused here (LockedError), not after this one has removed what the other wrote
  await mkdir(base, { recursive: true })
  const claim = await RestorePlan.claim(homePaths(repo.home).restorePlans, restoreScope(await realpath(base)))
  let removed = 0
  try {
    if (state != null) {
      for await (const e of diffTrees(repo, state.tree, latest.snapshot.tree, '', { signal: options.signal })) {
        checkAbort(options.signal)
        // removed, or changed (content, type, a file's metadata): gone from the folder now, written again by
        // the restore below; a directory that is new, or whose own metadata changed, stays (the restore sets it)
        if (e.type === 'dir' && (e.change === '+' || e.change === 'U')) continue
        if (await removeInside(base, e.path) === 'removed') removed++
      }
    }
  } catch (err) {
    await claim.destroy()
    throw err
  }
  const restored = await restore(repo, latest.snapshot.tree, base, { overwrite: 'if-changed', verify: true, signal: options.signal, onProgress: options.onProgress, claim })
  if (restored.failed.length === 0) {
    const next: StandbyState = { v: 1, snapshot: latest.name, tree: latest.snapshot.tree, paths: latest.snapshot.paths, applied: new Date().toISOString() }
    await writeFileAtomic(join(base, STANDBY_STATE), JSON.stringify(next, null, 2) + '\n', 0o600)
  }
  return { snapshot: latest.name, ...(state != null ? { previous: state.snapshot } : {}), upToDate: false, removed, restored }
}

