import { lstat, mkdir, readdir, readlink, unlink } from 'node:fs/promises'
import type { BigIntStats } from 'node:fs'
import { join } from 'node:path'
import type { TreeNode } from '../format/format.js'

/**
 * What a restore does with an entry already in its target:
 * - `always`: replace it (a symlink or file in the way is removed, never followed);
 * - `if-changed` (default): replace a file unless it already has the snapshot's size and mtime (a symlink
 *   unless it already points where the snapshot's does);
 * - `if-newer`: replace only when the snapshot's version is newer than the one in the target;
 * - `never`: leave every existing entry as it is.
 * A directory is never replaced by a file, and nothing already in the target is ever deleted but the one
 * entry a file or symlink of the snapshot replaces.
 */
export type OverwritePolicy = 'always' | 'if-changed' | 'if-newer' | 'never'
export const OVERWRITE_POLICIES: readonly OverwritePolicy[] = ['always', 'if-changed', 'if-newer', 'never']

export type Decision = { action: 'write' } | { action: 'skip', why: string } | { action: 'fail', why: string }

/**
 * The restore's target directory, entered one level at a time: no symlink or other non-directory already
 * in the target is ever followed. Each directory the restore writes into is checked with lstat (or
 * created) before anything is written below it, parents before children; a symlink or file found where a
 * directory must be fails that directory (and everything below it), unless the policy is `always`, which
 * removes the entry in the way (the link itself, not what it points to) and creates the directory.
 * Files are then written to new temporary files in those directories (O_CREAT|O_EXCL|O_NOFOLLOW) and
 * renamed over the final name, which replaces a link rather than following it.
 *
 * Limit: Node has no openat(), so a process that can write in the target and swaps a checked directory
 * for a symlink while the restore runs could still redirect it. Restore into a directory only you can
 * write to.
 */
export class RestoreTarget {
  /** relative path -> null when it is a real directory (created or found), or why it cannot be used */
  private readonly dirs = new Map<string, string | null>()
  /** directories that were in the target before the restore (their metadata is left as it was under `never`) */
  readonly existing = new Set<string>()
  /** directories this restore created: empty when created, so nothing in them needs a look first */
  private readonly created = new Set<string>()

  constructor (readonly base: string, readonly policy: OverwritePolicy = 'if-changed') {
    this.dirs.set('/', null)
  }

  at (rel: string): string {
    return join(this.base, rel)
  }

  /** Why the directory `rel` (or one of its parents) cannot be written into, or null when it can. */
  problemOf (rel: string): string | null {
    for (let p = parentOf(rel); ; p = parentOf(p)) {
      const known = this.dirs.get(p)
      if (known != null) return known
      if (p === '/') return null
    }
  }

  /** Makes sure `rel` is a real directory of the target; its parent must have been ensured before. */
  async ensureDir (rel: string): Promise<string | null> {
    const inherited = this.problemOf(rel)
    if (inherited != null) { this.dirs.set(rel, inherited); return inherited }
    const path = this.at(rel)
    let problem: string | null = null
    // in a directory this restore created, nothing can be in the way (a fresh target costs no lstat)
    const st = this.created.has(parentOf(rel)) ? null : await lstatOrNull(path)
    if (st == null) {
      try { await mkdir(path, { mode: 0o700 }) } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') problem = (err as Error).message
        else {
          const again = await lstatOrNull(path)
          if (again?.isDirectory() !== true) problem = `${path} appeared as something other than a directory`
        }
      }
    } else if (st.isDirectory()) {
      this.existing.add(rel)
    } else if (this.policy === 'always') {
      await unlink(path)
      await mkdir(path, { mode: 0o700 })
    } else {
      problem = `${path} is a ${kindOf(st)} where the snapshot has a directory: not followed, not replaced (--overwrite always replaces it)`
    }
    if (problem == null && !this.existing.has(rel)) this.created.add(rel)
    this.dirs.set(rel, problem)
    return problem
  }

  /**
   * Removes the temporary files (`.hf-<12 hex>.tmp`, files or symlinks) that an interrupted restore left
   * in the directory `rel` of the target; returns how many. Only this exact name pattern is touched.
   */
  async removeStaleTemps (rel: string): Promise<number> {
    let removed = 0
    let entries
    try { entries = await readdir(this.at(rel), { withFileTypes: true }) } catch { return 0 }
    for (const e of entries) {
      if (!STALE_TEMP.test(e.name) || !(e.isFile() || e.isSymbolicLink())) continue
      try { await unlink(join(this.at(rel), e.name)); removed++ } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      }
    }
    return removed
  }

  /** What to do with a file or symlink of the snapshot at `rel`, given what the target has there now. */
  async decide (rel: string, node: TreeNode): Promise<Decision> {
    const inherited = this.problemOf(rel)
    if (inherited != null) return { action: 'fail', why: inherited }
    if (this.created.has(parentOf(rel))) return { action: 'write' }
    const st = await lstatOrNull(this.at(rel))
    if (st == null) return { action: 'write' }
    if (st.isDirectory()) return { action: 'fail', why: `a directory is in the way at ${this.at(rel)}: it is not replaced` }
    switch (this.policy) {
      case 'always':
        return { action: 'write' }
      case 'never':
        return { action: 'skip', why: 'exists (--overwrite never)' }
      case 'if-newer':
        return BigInt(node.mtime) > st.mtimeNs ? { action: 'write' } : { action: 'skip', why: 'the target\'s version is as new or newer (--overwrite if-newer)' }
      case 'if-changed': {
        if (node.type === 'file' && st.isFile() && Number(st.size) === node.size && st.mtimeNs / 1000n === BigInt(node.mtime) / 1000n) return { action: 'skip', why: 'unchanged (same size and mtime)' }
        if (node.type === 'symlink' && st.isSymbolicLink() && await readlink(this.at(rel)) === node.target) return { action: 'skip', why: 'unchanged (same link target)' }
        return { action: 'write' }
      }
    }
  }
}

/** The temporary names restore.ts gives files and symlinks before renaming them into place. */
const STALE_TEMP = /^\.hf-[0-9a-f]{12}\.tmp$/

function parentOf (rel: string): string {
  const i = rel.lastIndexOf('/')
  return i <= 0 ? '/' : rel.slice(0, i)
}

function kindOf (st: BigIntStats): string {
  return st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'special file'
}

async function lstatOrNull (path: string): Promise<BigIntStats | null> {
  try {
    return await lstat(path, { bigint: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}
