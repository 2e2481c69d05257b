import { opendir, stat } from 'node:fs/promises'
import { isAbsolute, normalize } from 'node:path'
import { NotFoundError, PermissionDeniedError, UsageError } from '../errors.js'
import { checkAbort } from '../util/check-abort.js'

/** One entry of a directory as the file-tree picker shows it. */
export interface DirEntry {
  name: string
  /** What the entry itself is: a symlink is `link`, never followed. */
  type: 'dir' | 'file' | 'link' | 'other'
}

export interface DirListing {
  /** The directory listed (normalised). */
  path: string
  /** Directories first, then the rest, each by name. */
  entries: DirEntry[]
  /** More entries than `limit` were there; the first `limit` read are listed. */
  truncated: boolean
}

/** The picker lists this many entries of a directory at most. */
export const MAX_DIR_ENTRIES = 2000

/**
 * The entries of a local directory, for the dashboard's file-tree picker: names and types only (no
 * content, no sizes), symlinks shown as links and not followed, at most `limit`. Errors name the path:
 * UsageError (not absolute, not a directory), NotFoundError, PermissionDeniedError.
 */
export async function listDir (path: string, options: { limit?: number, signal?: AbortSignal } = {}): Promise<DirListing> {
  if (!isAbsolute(path)) throw new UsageError(`the path must be absolute, got ${JSON.stringify(path.slice(0, 200))}`)
  const dir = normalize(path)
  const limit = options.limit ?? MAX_DIR_ENTRIES
  const entries: DirEntry[] = []
  let truncated = false
  try {
    const st = await stat(dir)
    if (!st.isDirectory()) throw new UsageError(`${dir} is not a directory`)
    const handle = await opendir(dir, { bufferSize: 64 })
    try {
      for await (const d of handle) {
        checkAbort(options.signal)
        if (entries.length >= limit) { truncated = true; break }
        entries.push({ name: d.name, type: d.isSymbolicLink() ? 'link' : d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other' })
      }
    } finally {
      await handle.close().catch(() => {}) // already closed when the loop ran to its end
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new NotFoundError(`no such directory: ${dir}`, { cause: err })
    if (code === 'ENOTDIR') throw new UsageError(`${dir} is not a directory`, { cause: err })
    if (code === 'EACCES' || code === 'EPERM') throw new PermissionDeniedError(`the daemon may not read ${dir} (${code})`, { cause: err })
    throw err
  }
  entries.sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return { path: dir, entries, truncated }
}
