import { once } from 'node:events'
import { formatBytes } from '../util/format.js'
import { UsageError } from '../errors.js'
import { Command, EXIT, intOption } from './command.js'
import { printJson, snapshotFilter, SNAPSHOT_FILTER_OPTIONS, withRepository } from './context.js'
import { modeString } from './mode-string.js'

/**
 * Questions about snapshots, answered from the repository without writing to it: `diff` (what changed
 * between two snapshots), `find` (names across snapshots), `stats` (what each snapshot and the repository
 * hold, and what deduplication and compression save), `dump` (one file's bytes, verified, to standard
 * output or a file).
 */
const diffCmd: Command = {
  name: 'diff',
  usage: 'holdfast diff [--home DIR] [--json] [--host H] [--tag T]... SNAPSHOT|latest SNAPSHOT|latest',
  summary: 'what changed from the first snapshot to the second: + added, - removed, M content, T type, U metadata',
  options: { ...SNAPSHOT_FILTER_OPTIONS },
  repository: true,
  readOnly: true,
  minArgs: 2,
  maxArgs: 2,
  async run (ctx) {
    const { diffTrees, countChange, emptyDiffSummary } = await import('../query/index.js')
    return await withRepository(ctx, async repo => {
      const filter = snapshotFilter(ctx)
      const a = await repo.findSnapshot(ctx.args[0], filter)
      const b = await repo.findSnapshot(ctx.args[1], filter)
      const summary = emptyDiffSummary()
      const changes: Array<{ path: string, change: string, type: string, size?: number }> = []
      for await (const e of diffTrees(repo, a.snapshot.tree, b.snapshot.tree, '', { signal: ctx.signal })) {
        countChange(summary, e)
        if (ctx.json) changes.push(e)
        else ctx.out(`${e.change}    ${e.path}${e.type === 'dir' ? '/' : ''}`)
      }
      if (ctx.json) {
        printJson(ctx, { from: a.name, to: b.name, changes, summary })
      } else {
        ctx.out(`from ${a.name.slice(0, 8)} to ${b.name.slice(0, 8)}: ${summary.added.files} files and ${summary.added.dirs} directories added (${formatBytes(summary.added.bytes)}), ${summary.removed.files} files and ${summary.removed.dirs} directories removed (${formatBytes(summary.removed.bytes)}), ${summary.modified} modified, ${summary.typeChanged} changed type, ${summary.metadata} with new metadata only`)
      }
      return EXIT.ok
    })
  }
}

const findCmd: Command = {
  name: 'find',
  usage: 'holdfast find [--home DIR] [--json] [--snapshot S] [--host H] [--tag T]... [--limit N] PATTERN',
  summary: 'names matching PATTERN (a glob such as "*.pdf", or a part of the name; any case) in every snapshot, newest first, or in one',
  options: { snapshot: { type: 'string' }, limit: { type: 'string' }, ...SNAPSHOT_FILTER_OPTIONS },
  repository: true,
  readOnly: true,
  minArgs: 1,
  maxArgs: 1,
  async run (ctx) {
    const { searchSnapshots, nameMatcher } = await import('../browse/index.js')
    const { matchesFilter } = await import('../repository/snapshot-filter.js')
    const limit = intOption(ctx, 'limit') ?? 1000
    if (limit < 1) throw new UsageError('--limit must be 1 or more')
    return await withRepository(ctx, async repo => {
      const filter = snapshotFilter(ctx)
      const ref = ctx.values.snapshot as string | undefined
      const snapshots = ref != null ? [await repo.findSnapshot(ref, filter)] : (await repo.register.snapshots()).filter(s => matchesFilter(s.snapshot, filter)).reverse()
      const { hits, truncated } = await searchSnapshots(repo, snapshots, nameMatcher(ctx.args[0]), { limit, maxTrees: Infinity, signal: ctx.signal })
      if (ctx.json) {
        printJson(ctx, { hits, truncated })
      } else {
        let last = ''
        for (const h of hits) {
          if (h.snapshot !== last) { ctx.out(`snapshot ${h.snapshot.slice(0, 8)} of ${h.time}:`); last = h.snapshot }
          ctx.out(`  ${h.type === 'dir' ? 'd' : h.type === 'symlink' ? 'l' : '-'}${modeString(h.mode)} ${String(h.size).padStart(12)} ${h.mtime.slice(0, 19).replace('T', ' ')} ${h.path}`)
        }
        if (hits.length === 0) ctx.out('nothing found')
        if (truncated) ctx.err(`more than ${limit} found: the first ${limit} are shown (--limit N for more)`)
      }
      return EXIT.ok
    })
  }
}

const statsCmd: Command = {
  name: 'stats',
  usage: 'holdfast stats [--home DIR] [--json] [--host H] [--tag T]... [SNAPSHOT|latest]',
  summary: 'files, logical bytes, unique bytes, bytes only it holds, stored bytes and dedup ratio per snapshot, and for the repository',
  options: { ...SNAPSHOT_FILTER_OPTIONS },
  repository: true,
  readOnly: true,
  minArgs: 0,
  maxArgs: 1,
  async run (ctx) {
    const { repositoryStats } = await import('../query/index.js')
    const { matchesFilter } = await import('../repository/snapshot-filter.js')
    return await withRepository(ctx, async repo => {
      const filter = snapshotFilter(ctx)
      const all = await repo.register.snapshots()
      const chosen = ctx.args[0] != null ? (await repo.findSnapshot(ctx.args[0], filter)).name : undefined
      // exclusive bytes count references from every snapshot, so every snapshot is walked
      const stats = await repositoryStats(repo, all, { signal: ctx.signal })
      const records = new Map(all.map(a => [a.name, a.snapshot]))
      const shown = stats.snapshots.filter(s => chosen != null ? s.snapshot === chosen : matchesFilter(records.get(s.snapshot)!, filter))
      if (ctx.json) {
        printJson(ctx, { snapshots: shown, repository: stats.repository })
        return EXIT.ok
      }
      for (const s of shown) {
        ctx.out(`snapshot ${s.snapshot.slice(0, 8)} of ${s.time} (${s.hostname}: ${s.paths.join(', ')})`)
        ctx.out(`  ${s.files} files, ${s.dirs} directories, ${formatBytes(s.logicalBytes)}; ${s.chunks} distinct chunks, ${formatBytes(s.uniqueBytes)} (dedup ${s.dedupRatio.toFixed(2)}x); ${formatBytes(s.exclusiveBytes)} in no other snapshot; ${formatBytes(s.storedBytes)} stored`)
      }
      const r = stats.repository
      ctx.out(`repository: ${r.snapshots} snapshots, ${formatBytes(r.logicalBytes)} in all; ${r.chunks} distinct chunks, ${formatBytes(r.uniqueBytes)} (dedup ${r.dedupRatio.toFixed(2)}x), ${formatBytes(r.compressedBytes)} compressed and encrypted (${r.compressionRatio.toFixed(2)}x); ${formatBytes(r.storedBytes)} on the stores in ${r.packs} packs`)
      return EXIT.ok
    })
  }
}


const dumpCmd: Command = {
  name: 'dump',
  usage: 'holdfast dump [--home DIR] [--host H] [--tag T]... [--output FILE] SNAPSHOT|latest PATH',
  summary: 'write one file of a snapshot (a stream backed up with --stdin, say) to standard output or to FILE, every chunk verified first',
  options: { output: { type: 'string' }, ...SNAPSHOT_FILTER_OPTIONS },
  repository: true,
  readOnly: true,
  minArgs: 2,
  maxArgs: 2,
  async run (ctx) {
    const { fileBytes, nodeAt } = await import('../browse/index.js')
    const output = ctx.values.output as string | undefined
    if (output == null && ctx.stdout == null) throw new UsageError('dump: no standard output here; give --output FILE')
    return await withRepository(ctx, async repo => {
      const path = ctx.args[1]
      const { snapshot } = await repo.findSnapshot(ctx.args[0], snapshotFilter(ctx, path))
      const { node } = await nodeAt(repo, snapshot.tree, path, { signal: ctx.signal })
      if (node == null || node.type !== 'file') throw new UsageError(`${path} is not a file in the snapshot`)
      const bytes = fileBytes(repo, node, { signal: ctx.signal })
      if (output != null) {
        // written under a temporary name beside FILE and renamed once whole: never a partial file under its name
        const { open, rename, rm } = await import('node:fs/promises')
        const { dirname, basename, join, resolve } = await import('node:path')
        const final = resolve(output)
        const tmp = join(dirname(final), `.${basename(final)}.hf-${process.pid}-${Date.now()}.tmp`)
        const fh = await open(tmp, 'wx', 0o600)
        try {
          for await (const b of bytes) await fh.write(b)
          await fh.sync()
          await fh.close()
          await rename(tmp, final)
        } catch (err) {
          await fh.close().catch(() => {})
          await rm(tmp, { force: true })
          throw err
        }
        ctx.err(`wrote ${formatBytes(node.size)} to ${final}`)
      } else {
        const out = ctx.stdout!
        for await (const b of bytes) {
          // a reader that went away (| head) errors the stream or aborts the command (see main.ts): never
          // a wait for a drain that will not come
          if (!out.write(b)) await once(out, 'drain', { signal: ctx.signal })
        }
      }
      return EXIT.ok
    })
  }
}

export const QUERY_COMMANDS: Command[] = [diffCmd, findCmd, statsCmd, dumpCmd]
