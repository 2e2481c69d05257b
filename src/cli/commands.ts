import { resolve } from 'node:path'
import type { LockRecord, TreeNode } from '../format/format.js'
import type { OverwritePolicy } from '../restore/restore-target.js'
import { formatBytes, parseSize } from '../util/format.js'
import { UsageError } from '../errors.js'
import { Command, EXIT, intOption } from './command.js'
import { homeOf, printJson, snapshotFilter, SNAPSHOT_FILTER_OPTIONS, withRepository } from './context.js'
import { getPassphrase, kdfMemoryOption } from './passphrase.js'
import { NODE_COMMANDS } from './node-commands.js'
import { SESSION_COMMANDS } from './session-commands.js'
import { RETENTION_COMMANDS } from './retention-commands.js'
import { QUERY_COMMANDS } from './query-commands.js'
import { standbyCommand } from './standby-command.js'
import { keyCommand } from './key-commands.js'
import { deviceCommand } from './device-commands.js'
import { fleetCommand } from './fleet-command.js'
import { modeString } from './mode-string.js'
import { RECOVERY_COMMANDS } from './recovery-commands.js'
import { SEED_COMMANDS } from './seed-commands.js'
import { doctorCommand } from './doctor-command.js'
import { isValidLabel, MAX_LABEL_LENGTH, readProfile, writeProfile } from '../node/profile.js'
import { ProgressBar } from './progress.js'

// The engine (repository, backup, restore, check) and the node identity (libp2p crypto) are imported by
// the commands that run them: a command sent to the daemon, or --help, loads none of it.

export { EXIT } from './command.js'
export type { Command } from './command.js'

const init: Command = {
  name: 'init',
  usage: 'holdfast init [--home DIR] [--store dir:PATH...] [--site NAME] [--name NAME] [--data-shards K] [--parity-shards M] [--pack-size SIZE] [--kdf-memory SIZE]',
  summary: 'create a node and its repository; shards go to the given directory stores, or (without --store) to trusted peers',
  options: { store: { type: 'string', multiple: true }, site: { type: 'string' }, name: { type: 'string' }, 'data-shards': { type: 'string' }, 'parity-shards': { type: 'string' }, 'pack-size': { type: 'string' }, 'kdf-memory': { type: 'string' } },
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const stores = (ctx.values.store as string[] | undefined) ?? []
    const kdfMemory = kdfMemoryOption(ctx)
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
    const { id, config } = await Repository.init({ home, stores, passphrase, k: intOption(ctx, 'data-shards'), m: intOption(ctx, 'parity-shards'), packSize, kdfMemory })
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

const snapshots: Command = {
  name: 'snapshots',
  usage: 'holdfast snapshots [--home DIR] [--json]',
  summary: 'list snapshots',
  options: {},
  repository: true,
  readOnly: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    return await withRepository(ctx, async repo => {
      const all = await repo.register.snapshots()
      if (ctx.json) {
        printJson(ctx, all.map(({ name, snapshot: s }) => ({ id: name, short: name.slice(0, 8), time: s.time, hostname: s.hostname, username: s.username, paths: s.paths, tree: s.tree, parent: s.parent, partial: s.partial, tags: s.tags ?? [], archived: s.archived === true, summary: s.summary })))
      } else if (all.length === 0) {
        ctx.out('no snapshots')
      } else {
        ctx.out('ID        Time                  Host            Files      Size  Paths')
        for (const { name, snapshot: s } of all) {
          ctx.out(`${name.slice(0, 8)}  ${s.time.slice(0, 19).replace('T', ' ')}   ${s.hostname.padEnd(14).slice(0, 14)}  ${String(s.summary.totalFiles).padStart(6)}  ${formatBytes(s.summary.totalBytes).padStart(10)}  ${s.paths.join(' ')}${s.partial ? ' (partial)' : ''}${s.archived === true ? ' [archived]' : ''}${s.tags != null && s.tags.length > 0 ? ` {${s.tags.join(',')}}` : ''}`)
        }
        ctx.out(`${all.length} snapshot${all.length === 1 ? '' : 's'}`)
      }
      return EXIT.ok
    })
  }
}

const ls: Command = {
  name: 'ls',
  usage: 'holdfast ls [--home DIR] [--json] [--host H] [--tag T]... SNAPSHOT|latest [PATH]',
  summary: 'list the entries of a snapshot, below PATH if given (latest: the newest that holds PATH, of that host, with those tags)',
  options: { ...SNAPSHOT_FILTER_OPTIONS },
  repository: true,
  readOnly: true,
  minArgs: 1,
  maxArgs: 2,
  async run (ctx) {
    const { findNode } = await import('../restore/index.js')
    return await withRepository(ctx, async repo => {
      const { snapshot } = await repo.findSnapshot(ctx.args[0], snapshotFilter(ctx, ctx.args[1]))
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


const restoreCmd: Command = {
  name: 'restore',
  usage: 'holdfast restore [--home DIR] [--json] SNAPSHOT|latest --target DIR [--path P] [--host H] [--tag T]... [--overwrite always|if-changed|if-newer|never] [--verify]',
  summary: 'restore a snapshot (or a path in it) below a target directory; nothing already in the target is followed (latest: the newest that holds P, of that host, with those tags)',
  options: { target: { type: 'string' }, path: { type: 'string' }, overwrite: { type: 'string' }, verify: { type: 'boolean' }, ...SNAPSHOT_FILTER_OPTIONS },
  repository: true,
  readOnly: true,
  minArgs: 1,
  maxArgs: 1,
  async run (ctx) {
    const target = ctx.values.target as string | undefined
    if (target == null) throw new UsageError('restore needs --target DIR')
    const { restore, OVERWRITE_POLICIES } = await import('../restore/index.js')
    const overwrite = (ctx.values.overwrite as string | undefined) ?? 'if-changed'
    if (!(OVERWRITE_POLICIES as readonly string[]).includes(overwrite)) throw new UsageError(`--overwrite must be one of ${OVERWRITE_POLICIES.join(', ')}, got ${overwrite}`)
    return await withRepository(ctx, async repo => {
      const { name, snapshot } = await repo.findSnapshot(ctx.args[0], snapshotFilter(ctx, ctx.values.path as string | undefined))
      const bar = new ProgressBar('restore')
      const started = Date.now()
      // inside the daemon, the restore is logged as a session (the dashboard's Sessions page lists it)
      const log = async (result?: Awaited<ReturnType<typeof restore>>, error?: Error): Promise<void> => {
        if (ctx.logSession == null) return
        const { restoreReport, SessionLog } = await import('../session/index.js')
        const path = ctx.values.path as string | undefined
        await ctx.logSession(restoreReport({ id: SessionLog.newId(), trigger: 'manual', started: new Date(started).toISOString(), ended: new Date().toISOString(), snapshot: name, paths: [path != null ? resolve('/', path) : '/'], target: resolve(target), result, error })).catch(err => ctx.err(`the restore's session report could not be written: ${(err as Error).message}`))
      }
      let res
      try {
        res = await restore(repo, snapshot.tree, target, {
          path: ctx.values.path as string | undefined,
          overwrite: overwrite as OverwritePolicy,
          verify: ctx.values.verify === true,
          signal: ctx.signal,
          onProgress: e => { if (e.type === 'restore:progress') bar.update(e.bytesDone, e.bytesTotal, `${e.filesDone}/${e.filesTotal} files`) }
        })
      } catch (err) {
        await log(undefined, err as Error)
        throw err
      }
      await log(res)
      bar.done()
      const ms = Date.now() - started
      if (ctx.json) {
        printJson(ctx, { snapshot: name, target: resolve(target), ...res, durationMs: ms, peakRssBytes: process.resourceUsage().maxRSS * 1024 })
      } else {
        ctx.out(`restored snapshot ${name.slice(0, 8)} to ${resolve(target)}: ${res.files} files, ${res.dirs} directories, ${res.symlinks} symlinks, ${formatBytes(res.bytes)} in ${(ms / 1000).toFixed(2)} s${res.skipped > 0 ? `; ${res.skipped} entries already there left as they were (--overwrite ${overwrite})` : ''}${res.verified != null ? `; ${res.verified} files read back and verified` : ''}`)
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
  readOnly: true,
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

const auditCmd: Command = {
  name: 'audit',
  usage: 'holdfast audit [--home DIR] [--json] [--segments N]',
  summary: 'challenge every shard where it was placed now (proof of storage) and report per peer',
  options: { segments: { type: 'string' } },
  repository: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const segments = intOption(ctx, 'segments') ?? 1
    if (segments < 1 || segments > 16) throw new UsageError('--segments must be from 1 to 16')
    const { auditRound } = await import('../maintenance/index.js')
    return await withRepository(ctx, async repo => {
      const bar = new ProgressBar('audit')
      const res = await auditRound(repo, { segments, signal: ctx.signal, onProgress: e => bar.message(`challenging shards: ${e.done}/${e.total}`) })
      bar.done()
      const names = new Map(repo.stores.map(s => [s.id, s.label ?? s.id]))
      const failed = res.stores.reduce((n, s) => n + s.failed, 0)
      const unreachable = res.stores.reduce((n, s) => n + s.unreachable, 0)
      if (ctx.json) {
        printJson(ctx, { ...res, stores: res.stores.map(s => ({ ...s, name: names.get(s.store) ?? s.store })) })
      } else {
        ctx.out(`${res.shards} shards challenged (${segments} segment${segments === 1 ? '' : 's'} each) in ${(res.durationMs / 1000).toFixed(1)} s`)
        for (const s of res.stores) {
          const verdict = s.failed > 0 ? 'FAILED' : s.unreachable > 0 ? 'unreachable' : 'ok'
          const standing = s.state != null ? `  (${s.state}, score ${(s.score ?? 0).toFixed(2)})` : ''
          ctx.out(`  ${(names.get(s.store) ?? s.store).padEnd(20)} ${String(s.passed).padStart(5)} passed ${String(s.failed).padStart(5)} failed ${String(s.unreachable).padStart(5)} unreachable  ${verdict}${standing}`)
        }
        for (const p of res.problems.filter(p => p.outcome === 'fail').slice(0, 20)) ctx.err(`lost: shard ${p.index} of pack ${p.pack.slice(0, 12)} on ${names.get(p.store) ?? p.store}: ${p.reason ?? 'failed'}`)
        if (failed > 20) ctx.err(`... and ${failed - 20} more lost shards`)
      }
      if (failed > 0) { ctx.err(`audit: ${failed} shard(s) failed their challenge and are marked lost; run "holdfast repair"`); return EXIT.error }
      if (unreachable > 0) { ctx.err(`audit: ${unreachable} shard(s) could not be challenged: their peer is unreachable`); return EXIT.partial }
      return EXIT.ok
    })
  }
}

const healthCmd: Command = {
  name: 'health',
  usage: 'holdfast health [--home DIR] [--json]',
  summary: 'redundancy of every snapshot and pack, from the last audits (reads no shard)',
  options: {},
  repository: true,
  readOnly: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const { repositoryHealth } = await import('../maintenance/index.js')
    const { EphemeralRegister } = await import('../repository/ephemeral-register.js')
    return await withRepository(ctx, async repo => {
      const res = await repositoryHealth(repo, { ...ctx.health, signal: ctx.signal })
      const { recordCopies } = await import('../repository/replicate-records.js')
      const records = await recordCopies(repo, { signal: ctx.signal })
      // audit outcomes are local knowledge, kept only in the home's register
      if (repo.register instanceof EphemeralRegister) ctx.err('note: another process holds the register, and with it the audit outcomes: this report is from the stores\' records alone (no shard shows as confirmed or lost)')
      const names = new Map(repo.stores.map(s => [s.id, s.label ?? s.id]))
      const needsRepair = res.packs.filter(p => p.needsRepair)
      const unrecoverable = res.packs.filter(p => p.unrecoverable)
      const stale = res.packs.reduce((n, p) => n + p.stale.length, 0)
      if (ctx.json) {
        printJson(ctx, { ok: needsRepair.length === 0 && unrecoverable.length === 0, packs: res.packs, snapshots: res.snapshots, rebalance: res.rebalance, records })
      } else {
        for (const s of res.snapshots) {
          const parts = s.byHealth.map(b => `${b.packs} pack${b.packs === 1 ? '' : 's'} at ${b.health}/${b.n}`)
          const all = s.byHealth.length === 1 && s.byHealth[0].health === s.byHealth[0].n
          ctx.out(`snapshot ${s.id.slice(0, 8)} (${s.time.slice(0, 19).replace('T', ' ')}): ${all ? `all ${parts[0]}` : parts.join(', ')}${s.unrecoverable > 0 ? `; ${s.unrecoverable} UNRECOVERABLE` : ''}`)
        }
        const full = res.packs.filter(p => p.health === p.n).length
        ctx.out(`${res.packs.length} packs: ${full} at full health, ${needsRepair.length} to repair, ${unrecoverable.length} unrecoverable${stale > 0 ? `; ${stale} shards not confirmed recently (run "holdfast audit")` : ''}`)
        const waiting = res.packs.filter(p => p.health < p.n && !p.needsRepair && !p.unrecoverable && p.regenerate.length > 0).length
        if (waiting > 0) ctx.out(`${waiting} pack(s) short of full redundancy but above the repair threshold: repaired at their next loss (maintenance.repairThreshold)`)
        if (res.rebalance.length > 0) ctx.out(`${res.rebalance.length} pack(s) spread over fewer sites than asked, to rebalance: ${res.rebalance[0].reason}`)
        if (records.length > 0) ctx.out(`records: ${records.map(r => `${r.records} ${r.kind} on at least ${r.minCopies}/${repo.stores.length} stores`).join(', ')}`)
        const few = records.filter(r => r.minCopies < Math.min(repo.stores.length, repo.codec.m + 1))
        if (few.length > 0) ctx.out(`  some ${few.map(r => r.kind).join(', ')} records are on fewer than ${Math.min(repo.stores.length, repo.codec.m + 1)} stores: the next backup, prune or daemon round copies them`)
        for (const p of [...unrecoverable, ...needsRepair.filter(p => !p.unrecoverable)].slice(0, 20)) {
          ctx.out(`  pack ${p.pack.slice(0, 12)} at ${p.health}/${p.n}${p.unrecoverable ? ' (fewer than k good shards)' : ''}: ${p.problems.map(x => x.replace(/ on (\S+):/, (_m, id: string) => ` on ${names.get(id) ?? id}:`)).join('; ')}`)
        }
      }
      if (unrecoverable.length > 0) { ctx.err(`health: ${unrecoverable.length} pack(s) have fewer than k good shards left`); return EXIT.error }
      if (needsRepair.length > 0) { ctx.err(`health: ${needsRepair.length} pack(s) below the repair threshold; run "holdfast repair"`); return EXIT.partial }
      return EXIT.ok
    })
  }
}

const repairCmd: Command = {
  name: 'repair',
  usage: 'holdfast repair [--home DIR] [--json]',
  summary: 'regenerate lost shards now (from k good ones) and place them on other stores',
  options: {},
  repository: true,
  exclusive: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const { repairRound } = await import('../maintenance/index.js')
    return await withRepository(ctx, async repo => {
      const bar = new ProgressBar('repair')
      const res = await repairRound(repo, { ...ctx.health, signal: ctx.signal, onProgress: e => bar.message(`repairing packs: ${e.done}/${e.total}`) })
      bar.done()
      const names = new Map(repo.stores.map(s => [s.id, s.label ?? s.id]))
      if (ctx.json) {
        printJson(ctx, { ok: res.failed.length === 0 && res.unrecoverable.length === 0, ...res })
      } else {
        const shards = res.repaired.reduce((n, r) => n + r.placed.length, 0)
        if (res.released > 0) ctx.out(`${res.released} shard${res.released === 1 ? '' : 's'} brought back from quarantine`)
        ctx.out(res.needed === 0 ? 'nothing to repair' : `${res.repaired.length} of ${res.needed} packs repaired: ${shards} shard${shards === 1 ? '' : 's'} regenerated`)
        if (res.rebalanced.length > 0) ctx.out(`${res.rebalanced.length} pack(s) rebalanced over the sites: ${res.rebalanced.reduce((n, r) => n + r.placed.length, 0)} shard(s) moved`)
        if (res.staleDeleted > 0) ctx.out(`${res.staleDeleted} stale cop${res.staleDeleted === 1 ? 'y' : 'ies'} deleted from stores that are back`)
        for (const r of res.repaired) {
          ctx.out(`  pack ${r.pack.slice(0, 12)}: ${r.placed.map(p => `shard ${p.index} -> ${names.get(p.store) ?? p.store}`).join(', ')}${r.reducedSpread != null ? ` (reduced spread: ${r.reducedSpread})` : ''}`)
        }
        for (const r of res.failed) ctx.err(`not repaired: pack ${r.pack.slice(0, 12)}: ${r.error ?? ''}`)
      }
      if (res.unrecoverable.length > 0) { ctx.err(`repair: ${res.unrecoverable.length} pack(s) have fewer than k good shards and cannot be repaired`); return EXIT.error }
      if (res.failed.length > 0) { ctx.err(`repair: ${res.failed.length} pack(s) could not be repaired; the next round retries them`); return EXIT.error }
      return EXIT.ok
    })
  }
}

const rebuildIndex: Command = {
  name: 'rebuild-index',
  usage: 'holdfast rebuild-index [--home DIR] [--json]',
  summary: 'rebuild the local register from the stores',
  options: {},
  repository: true,
  exclusive: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    return await withRepository(ctx, async repo => {
      const { withRepositoryLock } = await import('../repository/repository-lock.js')
      const res = await withRepositoryLock(repo, 'exclusive', 'rebuild-index', ctx.signal, async () => await repo.rebuildIndex({ signal: ctx.signal }))
      if (ctx.json) printJson(ctx, res)
      else {
        ctx.out(`register rebuilt: ${res.packs} packs, ${res.blobs} blobs, ${res.snapshots} snapshots${res.moves > 0 ? `, ${res.moves} shard moves applied` : ''}${res.superseded > 0 ? `, ${res.superseded} superseded records ignored` : ''}`)
        for (const w of res.warnings) ctx.err(`warning: ${w}`)
        if (res.incomplete) ctx.err('the register is incomplete: what could not be read may be in use, so prune will not run until a rebuild reads everything')
      }
      return res.incomplete ? EXIT.partial : EXIT.ok
    })
  }
}

const unlockCmd: Command = {
  name: 'unlock',
  usage: 'holdfast unlock [--home DIR] [--json] [--remove-all]',
  summary: 'list the locks on the stores and remove the stale ones (--remove-all: every lock, when you know nobody holds one)',
  options: { 'remove-all': { type: 'boolean' } },
  repository: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const { listLocks, isStale, releasedByThisProcess, removeLock, DEFAULT_LOCK_STALE_MS } = await import('../repository/repository-lock.js')
    return await withRepository(ctx, async repo => {
      const all = ctx.values['remove-all'] === true
      const locks = await listLocks(repo, ctx.signal)
      const rows: Array<{ name: string, lock?: LockRecord, problem?: string, stale: boolean, removed: boolean }> = []
      for (const l of locks) {
        const stale = releasedByThisProcess(l.name) || (l.record == null ? false : isStale(l.record, repo.lockSettings.staleMs ?? DEFAULT_LOCK_STALE_MS))
        const removed = all || stale
        if (removed) await removeLock(repo, l.name)
        rows.push({ name: l.name, lock: l.record, problem: l.problem, stale, removed })
      }
      if (ctx.json) printJson(ctx, rows)
      else {
        for (const r of rows) ctx.out(`${r.name.slice(0, 12)}  ${r.lock != null ? `${r.lock.what} (${r.lock.kind}), process ${r.lock.pid} on ${r.lock.hostname}, home ${r.lock.home}, since ${r.lock.created}` : `unreadable: ${r.problem ?? ''}`}${r.stale ? ' [stale]' : ''}${r.removed ? ' - removed' : ''}`)
        ctx.out(`${rows.length} lock${rows.length === 1 ? '' : 's'}, ${rows.filter(r => r.removed).length} removed`)
      }
      return EXIT.ok
    })
  }
}

export const COMMANDS: Command[] = [init, ...SESSION_COMMANDS, snapshots, ls, restoreCmd, checkCmd, auditCmd, healthCmd, repairCmd, rebuildIndex, unlockCmd, keyCommand, deviceCommand, fleetCommand, ...QUERY_COMMANDS, standbyCommand, ...RETENTION_COMMANDS, ...RECOVERY_COMMANDS, ...SEED_COMMANDS, ...NODE_COMMANDS, doctorCommand]
