import { lstatSync, readdirSync, readlinkSync, BigIntStats } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { checkAbort } from '../store/directory-store.js'
import type { NodeType, TreeNode } from '../repository/format.js'

/**
 * The scan: walks the selected paths and records every entry's metadata before anything is read, so that
 * the session knows its size (for progress and ETA) and can order its work. The selected paths sit below
 * a virtual root under their absolute path, as restic does, so that a restore recreates them below a target.
 */
/** An entry as scanned: the metadata a tree node keeps, plus where it is and, for a directory, its entries. */
export interface ScanNode extends Pick<TreeNode, 'name' | 'type' | 'mode' | 'mtime' | 'uid' | 'gid' | 'inode' | 'size' | 'target'> {
  path: string
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
}

function nodeFromStat (name: string, path: string, st: BigIntStats): ScanNode | undefined {
  const type: NodeType | undefined = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : undefined
  if (type == null) return undefined // sockets, fifos and devices are not backed up
  return {
    name,
    path,
    type,
    mode: Number(st.mode & 0o7777n),
    mtime: st.mtimeNs.toString(),
    uid: Number(st.uid),
    gid: Number(st.gid),
    inode: Number(st.ino),
    size: type === 'file' ? Number(st.size) : 0
  }
}

const YIELD_EVERY = 512

export async function scan (paths: string[], options: ScanOptions = {}): Promise<ScanResult> {
  const exclude = new Set((options.exclude ?? []).map(p => resolve(p)))
  const result: ScanResult = { root: { name: '', path: sep, type: 'dir', mode: 0o755, mtime: '0', uid: 0, gid: 0, inode: 0, size: 0, children: [] }, files: 0, dirs: 0, bytes: 0, problems: [] }
  let sinceYield = 0

  const pause = async (): Promise<void> => {
    if (++sinceYield >= YIELD_EVERY) {
      sinceYield = 0
      options.onProgress?.(result.files, result.bytes)
      await new Promise(resolve => setImmediate(resolve))
      checkAbort(options.signal)
    }
  }

  const statNode = (name: string, path: string): ScanNode | undefined => {
    try {
      const node = nodeFromStat(name, path, lstatSync(path, { bigint: true }))
      if (node?.type === 'symlink') node.target = readlinkSync(path)
      return node
    } catch (err) {
      result.problems.push({ path, message: (err as Error).message })
      return undefined
    }
  }

  const walk = async (dir: ScanNode): Promise<void> => {
    let names: string[]
    try {
      names = readdirSync(dir.path)
    } catch (err) {
      result.problems.push({ path: dir.path, message: (err as Error).message })
      dir.children = []
      return
    }
    names.sort()
    const children: ScanNode[] = []
    for (const name of names) {
      const path = join(dir.path, name)
      if (exclude.has(path)) continue
      const node = statNode(name, path)
      await pause()
      if (node == null) continue
      children.push(node)
      if (node.type === 'dir') { result.dirs++; await walk(node) } else if (node.type === 'file') { result.files++; result.bytes += node.size }
    }
    dir.children = children
  }

  const walked: string[] = []
  for (const p of [...new Set(paths.map(p => resolve(p)))].sort()) {
    // a path inside one already walked is covered by it
    if (walked.some(w => p === w || p.startsWith(w === sep ? w : w + sep))) continue
    walked.push(p)
    // the ancestors of each selected path become directories of the virtual root
    const parts = p.split(sep).filter(Boolean)
    let parent = result.root
    let ok = true
    for (let i = 0; i < parts.length; i++) {
      const path = sep + parts.slice(0, i + 1).join(sep)
      let node = parent.children!.find(c => c.name === parts[i])
      if (node == null) {
        const found = statNode(parts[i], path)
        if (found == null) { ok = false; break }
        node = found
        if (i < parts.length - 1) {
          if (node.type !== 'dir') { result.problems.push({ path, message: 'not a directory' }); ok = false; break }
          node.children = []
        }
        parent.children!.push(node)
        parent.children!.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      }
      parent = node
    }
    if (!ok) continue
    const top = parent
    if (top.type === 'dir') { result.dirs++; await walk(top) } else if (top.type === 'file') { result.files++; result.bytes += top.size }
  }
  options.onProgress?.(result.files, result.bytes)
  return result
}
