import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, BigIntStats } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { checkAbort } from '../util/check-abort.js'
import type { NodeType, TreeNode } from '../format/format.js'

/**
 * The scan: walks the selected paths and records every entry's metadata before anything is read, so that
 * the session knows its size (for progress and ETA) and can order its work. The selected paths sit below
 * a virtual root under their absolute path, as restic does, so that a restore recreates them below a target.
 */
/** An entry as scanned: the metadata a tree node keeps, plus where it is and, for a directory, its entries. */
export interface ScanNode extends Pick<TreeNode, 'name' | 'type' | 'mode' | 'mtime' | 'uid' | 'gid' | 'inode' | 'size' | 'target'> {
  path: string
  /** status change time, nanoseconds (a rewrite that restores mtime and size still moves it) */
  ctime: string
  children?: ScanNode[]
}

export interface ScanProblem { path: string, message: string }

export interface ScanResult {
  root: ScanNode
  files: number
  dirs: number
  bytes: number
  problems: ScanProblem[]
}

export interface ScanOptions {
  signal?: AbortSignal
  /** Absolute paths never entered (the repository's own home and stores). */
  exclude?: string[]
  onProgress?: (files: number, bytes: number) => void
  /** Exclude rules (src/selection's PathFilter): asked for every entry; refined below each directory by its ignore file. */
  filter?: ScanFilter
  /** Name of the per-directory ignore file whose rules `filter.withDir` applies below it. */
  ignoreFile?: string
  /** Skip directories holding a CACHEDIR.TAG with the standard signature (https://bford.info/cachedir/). */
  excludeCaches?: boolean
}

/** What the scan needs of an exclude filter. */
export interface ScanFilter {
  excluded: (absPath: string, isDir: boolean) => boolean
  withDir: (dirAbsPath: string, ignoreFileText: string | undefined) => ScanFilter
}

const CACHEDIR_SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55'
/** Ignore files larger than this are reported and not applied. */
const MAX_IGNORE_FILE = 1024 * 1024

function nodeFromStat (name: string, path: string, st: BigIntStats): ScanNode | undefined {
  const type: NodeType | undefined = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined
  if (type == null) return undefined // sockets, fifos and devices are not backed up
  return {
    name,
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    mtime: st.mtimeNs.toString(),
    ctime: st.ctimeNs.toString(),
    uid: Number(st.uid),
    gid: Number(st.gid),
    inode: Number(st.ino),
    size: type === 'file' ? Number(st.size) : 0
  }
}

const YIELD_EVERY = 512

/** A directory's entry as scanned one level at a time, with the exclude rules that apply below it. */
export interface ScannedChild { node: ScanNode, filter?: ScanFilter }

/**
 * Scans one directory level at a time (the streaming backup holds only the directories it is working in),
 * or a whole tree (`scan`). Problems (unreadable entries, ignore files not applied) are collected.
 */
export class Scanner {
  readonly problems: ScanProblem[] = []
  files = 0
  dirs = 0
  bytes = 0
  private readonly exclude: Set<string>
  private sinceYield = 0

  constructor (private readonly options: ScanOptions = {}) {
    this.exclude = new Set((options.exclude ?? []).map(p => resolve(p)))
  }

  /** Yields to the event loop now and then, reporting progress and honouring the signal. */
  async pause (): Promise<void> {
    if (++this.sinceYield >= YIELD_EVERY) {
      this.sinceYield = 0
      this.options.onProgress?.(this.files, this.bytes)
      await new Promise(resolve => setImmediate(resolve))
      checkAbort(this.options.signal)
    }
  }

  statNode (name: string, path: string): ScanNode | undefined {
    try {
      const node = nodeFromStat(name, path, lstatSync(path, { bigint: true }))
      if (node?.type === 'symlink') node.target = readlinkSync(path)
      return node
    } catch (err) {
      this.problems.push({ path, message: (err as Error).message })
      return undefined
    }
  }

  private isCache (dir: string, names: string[]): boolean {
    if (this.options.excludeCaches !== true || !names.includes('CACHEDIR.TAG')) return false
    try {
      const fd = openSync(join(dir, 'CACHEDIR.TAG'), 'r')
      try {
        const buf = Buffer.alloc(CACHEDIR_SIGNATURE.length)
        return readSync(fd, buf, 0, buf.length, 0) === buf.length && buf.toString('latin1') === CACHEDIR_SIGNATURE
      } finally { closeSync(fd) }
    } catch { return false }
  }

  /** The filter below `dir`: its ignore file's rules added, when it has one. */
  private filterIn (dir: string, names: string[], filter: ScanFilter | undefined): ScanFilter | undefined {
    const name = this.options.ignoreFile
    if (filter == null || name == null || name === '' || !names.includes(name)) return filter
    const path = join(dir, name)
    try {
      const st = lstatSync(path)
      if (!st.isFile()) return filter
      if (st.size > MAX_IGNORE_FILE) { this.problems.push({ path, message: `ignore file larger than ${MAX_IGNORE_FILE} bytes; not applied` }); return filter }
      return filter.withDir(dir, readFileSync(path, 'utf8'))
    } catch (err) {
      this.problems.push({ path, message: `ignore file not applied: ${(err as Error).message}` })
      return filter
    }
  }

  /** A selected directory inherits the ignore files of the directories above it, as git does. */
  filterAbove (path: string): ScanFilter | undefined {
    let filter = this.options.filter
    if (filter == null || this.options.ignoreFile == null || this.options.ignoreFile === '') return filter
    const parts = path.split(sep).filter(Boolean)
    for (let i = 0; i < parts.length; i++) {
      const dir = sep + parts.slice(0, i).join(sep)
      if (existsSync(join(dir, this.options.ignoreFile))) filter = this.filterIn(dir, [this.options.ignoreFile], filter)
    }
    return filter
  }

  /** The entries of one directory, sorted by name, excluded ones left out; counts them. */
  async level (dir: ScanNode, parentFilter: ScanFilter | undefined): Promise<ScannedChild[]> {
    let names: string[]
    try {
      names = readdirSync(dir.path)
    } catch (err) {
      this.problems.push({ path: dir.path, message: (err as Error).message })
      return []
    }
    names.sort()
    const children: ScannedChild[] = []
    if (this.isCache(dir.path, names)) return children
    const filter = this.filterIn(dir.path, names, parentFilter)
    for (const name of names) {
      const path = join(dir.path, name)
      if (this.exclude.has(path)) continue
      const node = this.statNode(name, path)
      await this.pause()
      if (node == null) continue
      if (filter?.excluded(path, node.type === 'dir') === true) continue
      children.push({ node, filter })
      if (node.type === 'dir') this.dirs++; else if (node.type === 'file') { this.files++; this.bytes += node.size }
    }
    return children
  }

  /**
   * The virtual root: the selected paths below it under their absolute paths, their ancestors as
   * directories that hold only them (children set), the selected directories themselves not yet read
   * (children undefined; `tops` gives each with the rules that apply in it).
   */
  skeleton (paths: string[]): { root: ScanNode, tops: Map<ScanNode, ScanFilter | undefined> } {
    const root: ScanNode = { name: '', path: sep, type: 'dir', mode: 0o755, mtime: '0', ctime: '0', uid: 0, gid: 0, inode: 0, size: 0, children: [] }
    const tops = new Map<ScanNode, ScanFilter | undefined>()
    const walked: string[] = []
    for (const p of [...new Set(paths.map(p => resolve(p)))].sort()) {
      // a path inside one already walked is covered by it
      if (walked.some(w => p === w || p.startsWith(w === sep ? w : w + sep))) continue
      walked.push(p)
      // the ancestors of each selected path become directories of the virtual root
      const parts = p.split(sep).filter(Boolean)
      let parent = root
      let ok = true
      for (let i = 0; i < parts.length; i++) {
        const path = sep + parts.slice(0, i + 1).join(sep)
        let node = parent.children!.find(c => c.name === parts[i])
        if (node == null) {
          const found = this.statNode(parts[i], path)
          if (found == null) { ok = false; break }
          node = found
          if (i < parts.length - 1) {
            if (node.type !== 'dir') { this.problems.push({ path, message: 'not a directory' }); ok = false; break }
            node.children = []
          }
          parent.children!.push(node)
          parent.children!.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
        }
        parent = node
      }
      if (!ok) continue
      const top = parent
      if (top.type === 'dir') {
        this.dirs++
        top.children = undefined // read level by level
        tops.set(top, this.filterAbove(top.path))
      } else if (top.type === 'file') { this.files++; this.bytes += top.size }
    }
    return { root, tops }
  }
}

/**
 * Scans the selected paths whole. With `retain: false` only the totals are kept (files, directories,
 * bytes, problems): no node outlives its directory's walk.
 */
export async function scan (paths: string[], options: ScanOptions & { retain?: boolean } = {}): Promise<ScanResult> {
  const scanner = new Scanner(options)
  const retain = options.retain !== false
  const { root, tops } = scanner.skeleton(paths)
  const walk = async (dir: ScanNode, filter: ScanFilter | undefined): Promise<void> => {
    const children = await scanner.level(dir, filter)
    for (const c of children) if (c.node.type === 'dir') await walk(c.node, c.filter)
    if (retain) dir.children = children.map(c => c.node)
  }
  for (const [top, filter] of tops) await walk(top, filter)
  options.onProgress?.(scanner.files, scanner.bytes)
  return { root, files: scanner.files, dirs: scanner.dirs, bytes: scanner.bytes, problems: scanner.problems }
}
