import { createHash } from 'node:crypto'
import { lstat, readdir, readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Compares two directory trees entry by entry: type, content (SHA-256), mode, mtime (to the millisecond)
 * and symlink targets. Returns the differences in words; an empty list means identical.
 */
export async function compareTrees (a: string, b: string, options: { mtimes?: boolean } = {}): Promise<string[]> {
  const diffs: string[] = []
  const walk = async (rel: string): Promise<void> => {
    const pa = join(a, rel)
    const pb = join(b, rel)
    let sa, sb
    try { sa = await lstat(pa) } catch { diffs.push(`${rel}: missing in source`); return }
    try { sb = await lstat(pb) } catch { diffs.push(`${rel}: missing in restore`); return }
    const type = (s: typeof sa): string => s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other'
    if (type(sa) !== type(sb)) { diffs.push(`${rel}: ${type(sa)} became ${type(sb)}`); return }
    if ((sa.mode & 0o7777) !== (sb.mode & 0o7777) && !sa.isSymbolicLink()) diffs.push(`${rel}: mode ${(sa.mode & 0o7777).toString(8)} became ${(sb.mode & 0o7777).toString(8)}`)
    if (options.mtimes !== false && Math.floor(sa.mtimeMs) !== Math.floor(sb.mtimeMs)) diffs.push(`${rel}: mtime ${sa.mtime.toISOString()} became ${sb.mtime.toISOString()}`)
    if (sa.isSymbolicLink()) {
      if (await readlink(pa) !== await readlink(pb)) diffs.push(`${rel}: symlink target differs`)
    } else if (sa.isFile()) {
      if (sa.size !== sb.size) diffs.push(`${rel}: size ${sa.size} became ${sb.size}`)
      else {
        const h = async (p: string): Promise<string> => createHash('sha256').update(await readFile(p)).digest('hex')
        if (await h(pa) !== await h(pb)) diffs.push(`${rel}: content differs`)
      }
    } else if (sa.isDirectory()) {
      const [na, nb] = [await readdir(pa), await readdir(pb)]
      for (const n of nb) if (!na.includes(n)) diffs.push(`${join(rel, n)}: extra in restore`)
      for (const n of na.sort()) await walk(join(rel, n))
    }
  }
  await walk('')
  return diffs
}
