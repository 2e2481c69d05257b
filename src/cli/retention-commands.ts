import { UsageError } from '../errors.js'
import type { RetentionPolicy } from '../retention/index.js'
import type { PruneResult } from '../prune/index.js'
import type { Repository } from '../repository/repository.js'
import { formatBytes } from '../util/format.js'
import { Command, EXIT, intOption } from './command.js'
import { CommandContext, homeOf, printJson, snapshotFilter, SNAPSHOT_FILTER_OPTIONS, withRepository } from './context.js'
import { ProgressBar } from './progress.js'

/**
 * Retention from the command line: `forget` removes snapshots (named, or by a policy), `archive` pins a
 * snapshot no policy removes, `prune` deletes the data no snapshot needs from every store.
 */
const KEEP = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const

function policyOf (ctx: CommandContext): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {}
  let any = false
  for (const k of KEEP) {
    const n = intOption(ctx, `keep-${k}`)
    if (n == null) continue
    if (n < -1 || n === 0) throw new UsageError(`--keep-${k} must be a positive count, or -1 for all`)
    policy[k] = n
    any = true
  }
  const tags = ctx.values['keep-tag'] as string[] | undefined
  if (tags != null && tags.length > 0) { policy.tags = tags; any = true }
  return any ? policy : undefined
}

const forgetCmd: Command = {
  name: 'forget',
  usage: 'holdfast forget [--home DIR] [--json] [--dry-run] [--prune [--repack-unused PERCENT]] [--host H] [--tag T]... [--path P] (SNAPSHOT|latest... | --keep-last N --keep-hourly N --keep-daily N --keep-weekly N --keep-monthly N --keep-yearly N --keep-tag T)',
  summary: 'remove snapshots, named or all those a retention policy does not keep (archived ones always stay); --prune then frees their data',
  options: {
    'keep-last': { type: 'string' },
    'keep-hourly': { type: 'string' },
    'keep-daily': { type: 'string' },
    'keep-weekly': { type: 'string' },
    'keep-monthly': { type: 'string' },
    'keep-yearly': { type: 'string' },
    'keep-tag': { type: 'string', multiple: true },
    'dry-run': { type: 'boolean' },
    prune: { type: 'boolean' },
    'repack-unused': { type: 'string' },
    path: { type: 'string' },
    ...SNAPSHOT_FILTER_OPTIONS
  },
  repository: true,
  exclusive: true,
  minArgs: 0,
  maxArgs: Infinity,
  async run (ctx) {
    const policy = policyOf(ctx)
    if (policy != null && ctx.args.length > 0) throw new UsageError('give either snapshots or a --keep-* policy, not both')
    if (policy == null && ctx.args.length === 0) throw new UsageError('forget needs snapshots or at least one --keep-* rule (forgetting everything is not offered)')
    const dryRun = ctx.values['dry-run'] === true
    const { forgetByPolicy, forgetSnapshot } = await import('../prune/index.js')
    return await withRepository(ctx, async repo => {
      const all = await repo.register.snapshots()
      const remove: Array<{ name: string }> = []
      const keep: Array<{ name: string, reasons: string[] }> = []
      const notReached = new Set<string>()
      let pruned: PruneResult | undefined
      if (policy != null) {
        const res = await forgetByPolicy(repo, policy, { dryRun, signal: ctx.signal, filter: snapshotFilter(ctx, ctx.values.path as string | undefined) })
        remove.push(...res.removed.map(name => ({ name })))
        keep.push(...res.kept)
        for (const s of res.notReached) notReached.add(s)
      } else {
        const unreadable = await repo.register.incomplete()
        for (const ref of ctx.args) {
          // a snapshot record the last rebuild could not read is forgotten by its full name
          if (/^[0-9a-f]{64}$/.test(ref) && !all.some(s => s.name === ref) && unreadable.some(line => line.startsWith(`snapshot record ${ref} `))) {
            if (!remove.some(r => r.name === ref)) remove.push({ name: ref })
            continue
          }
          const { name, snapshot } = await repo.findSnapshot(ref, snapshotFilter(ctx, ctx.values.path as string | undefined))
          if (snapshot.archived === true) throw new UsageError(`snapshot ${name.slice(0, 8)} is archived; "holdfast archive --undo ${name.slice(0, 8)}" first`)
          if (!remove.some(r => r.name === name)) remove.push({ name })
        }
        if (!dryRun) for (const r of remove) for (const s of (await forgetSnapshot(repo, r.name, { signal: ctx.signal })).notReached) notReached.add(s)
      }
      if (ctx.values.prune === true && remove.length > 0) pruned = await runPrune(ctx, repo, dryRun)
      if (ctx.json) {
        printJson(ctx, { dryRun, removed: remove.map(r => r.name), kept: keep, notReached: [...notReached], ...(pruned != null ? { prune: pruned } : {}) })
      } else {
        const byName = new Map(all.map(s => [s.name, s.snapshot]))
        for (const k of keep) ctx.out(`keep   ${k.name.slice(0, 8)}  ${byName.get(k.name)?.time.slice(0, 19).replace('T', ' ') ?? ''}  ${k.reasons.join(', ')}`)
        for (const r of remove) ctx.out(`${dryRun ? 'would remove' : 'remove'} ${r.name.slice(0, 8)}  ${byName.get(r.name)?.time.slice(0, 19).replace('T', ' ') ?? ''}`)
        ctx.out(`${remove.length} snapshot${remove.length === 1 ? '' : 's'} ${dryRun ? 'would be ' : ''}removed, ${policy != null ? keep.length : all.length - remove.length} kept${dryRun ? ' (dry run: nothing changed)' : ''}`)
        if (notReached.size > 0) ctx.err(`warning: ${notReached.size} store(s) could not be reached and still hold the removed records: ${[...notReached].join(', ')}`)
        if (pruned != null) printPrune(ctx, pruned)
        else if (!dryRun && remove.length > 0) ctx.out('their data stays until "holdfast prune"')
      }
      return EXIT.ok
    })
  }
}

const archiveCmd: Command = {
  name: 'archive',
  usage: 'holdfast archive [--home DIR] [--json] [--undo] [--host H] [--tag T]... SNAPSHOT|latest',
  summary: 'pin a snapshot so that no retention policy removes it (--undo unpins it)',
  options: { undo: { type: 'boolean' }, ...SNAPSHOT_FILTER_OPTIONS },
  repository: true,
  exclusive: true,
  minArgs: 1,
  maxArgs: 1,
  async run (ctx) {
    const { setArchived } = await import('../prune/index.js')
    return await withRepository(ctx, async repo => {
      const { name } = await repo.findSnapshot(ctx.args[0], snapshotFilter(ctx))
      const archived = ctx.values.undo !== true
      const res = await setArchived(repo, name, archived, { signal: ctx.signal })
      if (ctx.json) printJson(ctx, { snapshot: res.name, short: res.name.slice(0, 8), previous: name, archived, unchanged: res.unchanged })
      else if (res.unchanged) ctx.out(`snapshot ${name.slice(0, 8)} is ${archived ? 'already archived' : 'not archived'}`)
      else ctx.out(`snapshot ${name.slice(0, 8)} ${archived ? 'archived' : 'no longer archived'}: now ${res.name.slice(0, 8)} (a snapshot's id is the hash of its record)`)
      return EXIT.ok
    })
  }
}

/** --repack-unused PERCENT: repack a partly used pack once at least this share of it is unused. */
function repackUnusedOf (ctx: CommandContext): number | undefined {
  const v = ctx.values['repack-unused']
  if (v == null) return undefined
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`--repack-unused must be a percentage from 0 to 100, got ${String(v)}`)
  return n / 100
}

/** --orphan-grace DAYS, or the node config's retention.orphanGraceSeconds: how long an unaccounted shard is kept. */
async function orphanGraceOf (ctx: CommandContext): Promise<number> {
  const v = ctx.values['orphan-grace']
  if (v != null) {
    const days = Number(v)
    if (String(v).trim() === '' || !Number.isFinite(days) || days < 0 || days > 3650) throw new UsageError(`--orphan-grace must be a number of days from 0 to 3650, got ${String(v)}`)
    return days * 86400_000
  }
  const { loadNodeConfig } = await import('../config/index.js')
  return (await loadNodeConfig(homeOf(ctx))).retention.orphanGraceSeconds * 1000
}

async function runPrune (ctx: CommandContext, repo: Repository, dryRun: boolean): Promise<PruneResult> {
  const { prune } = await import('../prune/index.js')
  const bar = new ProgressBar('prune')
  try {
    return await prune(repo, {
      dryRun,
      repackUnused: repackUnusedOf(ctx),
      orphanGraceMs: await orphanGraceOf(ctx),
      signal: ctx.signal,
      onProgress: e => {
        if (e.type === 'prune:phase') bar.message(e.phase === 'mark' ? 'finding what the snapshots use...' : e.phase === 'index' ? 'writing the new index...' : `${e.phase}...`)
        else bar.update(e.done, e.total, `${e.phase} ${e.done}/${e.total}`)
      }
    })
  } finally {
    bar.done()
  }
}

function printPrune (ctx: CommandContext, r: PruneResult): void {
  ctx.out(`${r.blobs.unused} unused blobs (${formatBytes(r.unusedBytes)}) in ${r.packs.deleted + r.packs.repacked} packs: ${r.packs.deleted} ${r.dryRun ? 'to delete' : 'deleted'}, ${r.packs.repacked} ${r.dryRun ? 'to repack' : 'repacked'}; ${r.packs.kept} packs kept whole`)
  if (r.unusedKept > 0) ctx.out(`${formatBytes(r.unusedKept)} unused left in packs mostly still needed (below --repack-unused)`)
  if (!r.dryRun) {
    ctx.out(`${r.packs.written} new packs written; ${r.shardsDeleted} shards deleted from the stores, ${formatBytes(r.bytesFreed)} freed${r.orphansDeleted > 0 ? `; ${r.orphansDeleted} unaccounted shards deleted after their grace period` : ''}`)
    if (r.orphansQuarantined > 0) ctx.out(`${r.orphansQuarantined} shard(s) no record accounts for put in quarantine: deleted when their grace period ends (--orphan-grace), unless a repair brings them back first`)
    if (r.deferred > 0) ctx.err(`warning: ${r.deferred} shard(s) on unreachable stores are deleted once those are back`)
  }
}

const pruneCmd: Command = {
  name: 'prune',
  usage: 'holdfast prune [--home DIR] [--json] [--dry-run] [--repack-unused PERCENT] [--orphan-grace DAYS]',
  summary: 'delete the data no snapshot needs from every store (partly used packs are repacked)',
  options: { 'dry-run': { type: 'boolean' }, 'repack-unused': { type: 'string' }, 'orphan-grace': { type: 'string' } },
  repository: true,
  exclusive: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    return await withRepository(ctx, async repo => {
      const r = await runPrune(ctx, repo, ctx.values['dry-run'] === true)
      if (ctx.json) printJson(ctx, r)
      else printPrune(ctx, r)
      return EXIT.ok
    })
  }
}

export const RETENTION_COMMANDS: Command[] = [forgetCmd, archiveCmd, pruneCmd]
