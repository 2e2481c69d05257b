import { resolve } from 'node:path'
import type { BackupEvent } from '../backup/index.js'
import type { TreeNode } from '../repository/format.js'
import { formatBytes, formatDuration, parseSize } from '../util/format.js'
import { UsageError } from '../errors.js'
import { CommandContext, homeOf, printJson, withRepository } from './context.js'
import { getPassphrase } from './passphrase.js'
import { NODE_COMMANDS } from './node-commands.js'
import { isValidLabel, MAX_LABEL_LENGTH, readProfile, writeProfile } from '../node/profile.js'
import { ProgressBar } from './progress.js'

// The engine (repository, backup, restore, check) and the node identity (libp2p crypto) are imported by
// the commands that run them: a command sent to the daemon, or --help, loads none of it.

/** Exit codes (documented in docs/USER-GUIDE.md). */
export const EXIT = { ok: 0, error: 1, usage: 2, partial: 3 } as const

type OptionSpec = Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string }>

export interface Command {
  name: string
  usage: string
  summary: string
  options: OptionSpec
  minArgs: number
  maxArgs: number
  /** works on the repository (sent to the daemon when the shards go to peers) */
  repository?: boolean
  run: (ctx: CommandContext) => Promise<number>
}

function intOption (ctx: CommandContext, name: string): number | undefined {
  const v = ctx.values[name]
  if (v == null) return undefined
  const n = Number(v)
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${String(v)}`)
  return n
}

const init: Command = {
  name: 'init',
  usage: 'holdfast init [--home DIR] [--store dir:PATH...] [--site NAME] [--name NAME] [--data-shards K] [--parity-shards M] [--pack-size SIZE]',
  summary: 'create a node and its repository; shards go to the given directory stores, or (without --store) to trusted peers',
  options: { store: { type: 'string', multiple: true }, site: { type: 'string' }, name: { type: 'string' }, 'data-shards': { type: 'string' }, 'parity-shards': { type: 'string' }, 'pack-size': { type: 'string' } },
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const stores = (ctx.values.store as string[] | undefined) ?? []
    const home = homeOf(ctx)
    const site = ctx.values.site as string | undefined
    const nodeName = ctx.values.name as string | undefined
    if (site != null && !isValidLabel(site)) throw new UsageError(`--site must be 1-${MAX_LABEL_LENGTH} printable characters`)
    if (nodeName != null && !isValidLabel(nodeName)) throw new UsageError(`--name must be 1-${MAX_LABEL_LENGTH} printable characters`)
    const passphrase = await getPassphrase({ file: ctx.values['passphrase-file'] as string | undefined, confirm: true })
    let packSize: number | undefined
    try {
      packSize = ctx.values['pack-size'] != null ? parseSize(String(ctx.values['pack-size'])) : undefined
    } catch (err) {
      throw new UsageError(`--pack-size: ${(err as Error).message}`)
    }
    const { Repository } = await import('../repository/repository.js')
    const { createIdentity, peerIdOf } = await import('../node/identity.js')
    const { id, config } = await Repository.init({ home, stores, passphrase, k: intOption(ctx, 'data-shards'), m: intOption(ctx, 'parity-shards'), packSize })
    // every node is also a peer: its libp2p identity and its name and site (told to peers at pairing)
    const key = await createIdentity(home)
    const profile = await readProfile(home)
    await writeProfile(home, { name: nodeName ?? profile.name, site: site ?? profile.site })
    const peerId = peerIdOf(key).toString()
    const where = stores.length > 0 ? `over ${stores.length} stores` : 'on trusted peers (start "holdfast daemon", then pair with "holdfast peers")'
    if (ctx.json) printJson(ctx, { repository: id, home, peerId, site: site ?? profile.site, stores, peers: stores.length === 0, k: config.k, m: config.m, codec: config.codec, packSize: config.packSize })
    else ctx.out(`created repository ${id.slice(0, 8)} in ${home}: ${config.k}+${config.m} shards ${where} (${config.codec}); node ${peerId}`)
    return EXIT.ok
  }
}

const backupCmd: Command = {
  name: 'backup',
  usage: 'holdfast backup [--home DIR] [--json] PATH...',
  summary: 'back up files and directories into a new snapshot',
  options: {},
  repository: true,
  minArgs: 1,
  maxArgs: Infinity,
  async run (ctx) {
    const { backup } = await import('../backup/index.js')
    return await withRepository(ctx, async repo => {
      const bar = new ProgressBar('backup')
      let files = ''
      const onProgress = (e: BackupEvent): void => {
        if (e.type === 'scan:progress') bar.message(`scanning: ${e.files} files, ${formatBytes(e.bytes)}`)
        else if (e.type === 'backup:progress') { files = `${e.filesDone}/${e.filesTotal} files`; bar.update(e.bytesDone, e.bytesTotal, files) } else if (e.type === 'backup:warning') { bar.done(); ctx.err(`warning: ${e.path}: ${e.message}`) } else if (e.type === 'backup:phase' && e.phase === 'commit') bar.message('committing snapshot...')
      }
      const res = await backup(repo, ctx.args.map(p => resolve(p)), { signal: ctx.signal, onProgress })
      bar.done()
      const s = res.snapshot.summary
      if (ctx.json) {
        printJson(ctx, { snapshot: res.name, short: res.name.slice(0, 8), partial: res.snapshot.partial, warnings: res.warnings, peakRssBytes: process.resourceUsage().maxRSS * 1024, ...s })
      } else {
        ctx.out(`snapshot ${res.name.slice(0, 8)} saved${res.snapshot.partial ? ' (partial: some files could not be read)' : ''}`)
        ctx.out(`files: ${s.filesNew} new, ${s.filesChanged} changed, ${s.filesUnchanged} unchanged; ${s.dirs} directories`)
        ctx.out(`read ${formatBytes(s.bytesRead)} of ${formatBytes(s.totalBytes)}, added ${formatBytes(s.bytesAdded)}, stored ${formatBytes(s.bytesStored)} in shards, in ${formatDuration(s.durationMs)} (${(s.durationMs / 1000).toFixed(2)} s)`)
      }
      return res.snapshot.partial ? EXIT.partial : EXIT.ok
    })
  }
}

const snapshots: Command = {
  name: 'snapshots',
  usage: 'holdfast snapshots [--home DIR] [--json]',
  summary: 'list snapshots',
  options: {},
  repository: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    return await withRepository(ctx, async repo => {
      const all = await repo.register.snapshots()
      if (ctx.json) {
        printJson(ctx, all.map(({ name, snapshot: s }) => ({ id: name, short: name.slice(0, 8), time: s.time, hostname: s.hostname, username: s.username, paths: s.paths, tree: s.tree, parent: s.parent, partial: s.partial, summary: s.summary })))
      } else if (all.length === 0) {
        ctx.out('no snapshots')
      } else {
        ctx.out('ID        Time                  Host            Files      Size  Paths')
        for (const { name, snapshot: s } of all) {
          ctx.out(`${name.slice(0, 8)}  ${s.time.slice(0, 19).replace('T', ' ')}   ${s.hostname.padEnd(14).slice(0, 14)}  ${String(s.summary.totalFiles).padStart(6)}  ${formatBytes(s.summary.totalBytes).padStart(10)}  ${s.paths.join(' ')}${s.partial ? ' (partial)' : ''}`)
        }
        ctx.out(`${all.length} snapshot${all.length === 1 ? '' : 's'}`)
      }
      return EXIT.ok
    })
  }
}

const ls: Command = {
  name: 'ls',
  usage: 'holdfast ls [--home DIR] [--json] SNAPSHOT|latest [PATH]',
  summary: 'list the entries of a snapshot, below PATH if given',
  options: {},
  repository: true,
  minArgs: 1,
  maxArgs: 2,
  async run (ctx) {
    const { findNode } = await import('../restore/index.js')
    return await withRepository(ctx, async repo => {
      const { snapshot } = await repo.findSnapshot(ctx.args[0])
      const start = ctx.args[1] ?? '/'
      const found = await findNode(repo, snapshot.tree, start)
      const rows: Array<{ path: string, node: TreeNode }> = []
      const walk = async (dir: string, nodes: TreeNode[]): Promise<void> => {
        for (const node of nodes) {
          const path = `${dir === '/' ? '' : dir}/${node.name}`
          rows.push({ path, node })
          if (node.type === 'dir' && node.subtree != null) await walk(path, (await repo.loadTree(node.subtree)).nodes)
        }
      }
      const base = resolve('/', start)
      if (found.node != null) rows.push({ path: base, node: found.node })
      if (found.tree != null) await walk(base, found.tree.nodes)
      if (ctx.json) {
        printJson(ctx, rows.map(({ path, node }) => ({ path, type: node.type, mode: node.mode, size: node.size, mtime: new Date(Number(BigInt(node.mtime) / 1000000n)).toISOString(), uid: node.uid, gid: node.gid, ...(node.target != null ? { target: node.target } : {}) })))
      } else {
        for (const { path, node } of rows) {
          const kind = node.type === 'dir' ? 'd' : node.type === 'symlink' ? 'l' : '-'
          ctx.out(`${kind}${modeString(node.mode)} ${String(node.size).padStart(12)} ${new Date(Number(BigInt(node.mtime) / 1000000n)).toISOString().slice(0, 19).replace('T', ' ')} ${path}${node.target != null ? ' -> ' + node.target : ''}`)
        }
      }
      return EXIT.ok
    })
  }
}

function modeString (mode: number): string {
  const r = (b: number, c: string): string => (mode & b) !== 0 ? c : '-'
  return r(0o400, 'r') + r(0o200, 'w') + r(0o100, 'x') + r(0o40, 'r') + r(0o20, 'w') + r(0o10, 'x') + r(0o4, 'r') + r(0o2, 'w') + r(0o1, 'x')
}

const restoreCmd: Command = {
  name: 'restore',
  usage: 'holdfast restore [--home DIR] [--json] SNAPSHOT|latest --target DIR [--path P]',
  summary: 'restore a snapshot (or a path in it) below a target directory',
  options: { target: { type: 'string' }, path: { type: 'string' } },
  repository: true,
  minArgs: 1,
  maxArgs: 1,
  async run (ctx) {
    const target = ctx.values.target as string | undefined
    if (target == null) throw new UsageError('restore needs --target DIR')
    const { restore } = await import('../restore/index.js')
    return await withRepository(ctx, async repo => {
      const { name, snapshot } = await repo.findSnapshot(ctx.args[0])
      const bar = new ProgressBar('restore')
      const started = Date.now()
      const res = await restore(repo, snapshot.tree, target, {
        path: ctx.values.path as string | undefined,
        signal: ctx.signal,
        onProgress: e => { if (e.type === 'restore:progress') bar.update(e.bytesDone, e.bytesTotal, `${e.filesDone}/${e.filesTotal} files`) }
      })
      bar.done()
      const ms = Date.now() - started
      if (ctx.json) {
        printJson(ctx, { snapshot: name, target: resolve(target), ...res, durationMs: ms, peakRssBytes: process.resourceUsage().maxRSS * 1024 })
      } else {
        ctx.out(`restored snapshot ${name.slice(0, 8)} to ${resolve(target)}: ${res.files} files, ${res.dirs} directories, ${res.symlinks} symlinks, ${formatBytes(res.bytes)} in ${(ms / 1000).toFixed(2)} s`)
        for (const f of res.failed) ctx.err(`not restored: ${f.path}: ${f.reason}`)
        if (res.failed.length > 0) ctx.err(`${res.failed.length} file(s) could not be restored; no file was left with wrong content`)
      }
      return res.failed.length > 0 ? EXIT.partial : EXIT.ok
    })
  }
}

const checkCmd: Command = {
  name: 'check',
  usage: 'holdfast check [--home DIR] [--json] [--read-data]',
  summary: 'verify the repository structure; --read-data reads and verifies every shard',
  options: { 'read-data': { type: 'boolean' } },
  repository: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const { check } = await import('../check/index.js')
    return await withRepository(ctx, async repo => {
      const bar = new ProgressBar('check')
      const res = await check(repo, { readData: ctx.values['read-data'] === true, signal: ctx.signal, onProgress: e => bar.message(`checking packs: ${e.done}/${e.total}`) })
      bar.done()
      const degraded = res.packs.filter(p => p.good < p.total)
      const ok = res.errors.length === 0 && degraded.length === 0
      if (ctx.json) {
        printJson(ctx, { ok, snapshots: res.snapshots, trees: res.trees, packs: res.packs.length, degraded: degraded.length, errors: res.errors, packHealth: res.packs })
      } else {
        ctx.out(`${res.snapshots} snapshots, ${res.trees} trees, ${res.packs.length} packs ${ctx.values['read-data'] === true ? 'read and verified' : 'present'}`)
        const full = res.packs.filter(p => p.good === p.total)
        if (full.length > 0) ctx.out(`${full.length} packs at full health (${full[0].total}/${full[0].total})`)
        for (const p of degraded) ctx.out(`pack ${p.pack.slice(0, 12)}: ${p.good}/${p.total} good shards (needs ${p.needed})${p.problems.length > 0 ? ': ' + p.problems.join('; ') : ''}`)
        for (const e of res.errors) ctx.err(`error: ${e}`)
        ctx.out(ok ? 'no errors found' : `${res.errors.length} errors, ${degraded.length} packs below full health`)
      }
      return ok ? EXIT.ok : EXIT.error
    })
  }
}

const rebuildIndex: Command = {
  name: 'rebuild-index',
  usage: 'holdfast rebuild-index [--home DIR] [--json]',
  summary: 'rebuild the local register from the stores',
  options: {},
  repository: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    return await withRepository(ctx, async repo => {
      const res = await repo.rebuildIndex({ signal: ctx.signal })
      if (ctx.json) printJson(ctx, res)
      else ctx.out(`register rebuilt: ${res.packs} packs, ${res.blobs} blobs, ${res.snapshots} snapshots`)
      return EXIT.ok
    })
  }
}

export const COMMANDS: Command[] = [init, backupCmd, snapshots, ls, restoreCmd, checkCmd, rebuildIndex, ...NODE_COMMANDS]
