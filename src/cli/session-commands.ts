import { resolve } from 'node:path'
import { setSnapshotPaths } from '../config/node-config.js'
import { UsageError } from '../errors.js'
import type { SessionEvent, SessionReport } from '../session/index.js'
import type { StreamSource } from '../backup/index.js'
import { formatBytes, formatDuration } from '../util/format.js'
import { Command, EXIT, intOption } from './command.js'
import { homeOf, openRepository, printJson } from './context.js'
import { ProgressBar } from './progress.js'

/**
 * Backup sessions from the command line: `backup` runs one (paths given, or a configured set) with the
 * node config's rules, hooks and notifications; `sessions` lists the reports the session log keeps.
 */
const backupCmd: Command = {
  name: 'backup',
  usage: 'holdfast backup [--home DIR] [--json] [--set NAME] [--tag T]... [--host NAME] [--exclude PATTERN]... [PATH...] | --stdin [--stdin-name NAME] | --stdin-from-command [--stdin-name NAME] -- COMMAND [ARG...]',
  summary: 'back up files and directories (or a backup set of the node config), or standard input, or a command\'s output, into a new snapshot',
  options: { set: { type: 'string' }, tag: { type: 'string', multiple: true }, host: { type: 'string' }, exclude: { type: 'string', multiple: true }, stdin: { type: 'boolean' }, 'stdin-name': { type: 'string' }, 'stdin-from-command': { type: 'boolean' } },
  repository: true,
  exclusive: true,
  // paths are the CLI's, relative to its working directory; a command's arguments are its own
  absoluteArgs: (args, values) => values?.['stdin-from-command'] === true ? args : args.map(p => resolve(p)),
  minArgs: 0,
  maxArgs: Infinity,
  async run (ctx) {
    const home = homeOf(ctx)
    const { loadNodeConfig } = await import('../config/index.js')
    const { runSession } = await import('../session/index.js')
    const config = await loadNodeConfig(home)
    const setName = ctx.values.set as string | undefined
    const set = setName != null ? config.backup.sets.find(s => s.name === setName) : undefined
    if (setName != null && set == null) throw new UsageError(`no backup set named ${JSON.stringify(setName)} in the node config (backup.sets)`)
    if (set != null && ctx.args.length > 0) throw new UsageError('give either --set NAME or paths, not both')
    const fromStdin = ctx.values.stdin === true
    const fromCommand = ctx.values['stdin-from-command'] === true
    const streamName = (ctx.values['stdin-name'] as string | undefined) ?? 'stdin'
    if (fromStdin && fromCommand) throw new UsageError('give --stdin or --stdin-from-command, not both')
    if ((fromStdin || fromCommand) && set != null) throw new UsageError('--stdin and --stdin-from-command back up a stream, not a set')
    if (!fromStdin && !fromCommand && ctx.values['stdin-name'] != null) throw new UsageError('--stdin-name goes with --stdin or --stdin-from-command')
    if (fromStdin && ctx.args.length > 0) throw new UsageError('--stdin reads standard input: give no paths')
    if (fromCommand && ctx.args.length === 0) throw new UsageError('--stdin-from-command needs the command: holdfast backup --stdin-from-command -- COMMAND [ARG...]')
    if (fromStdin && ctx.stdin == null) throw new UsageError('--stdin: this process has no standard input to read')
    if ((fromStdin || fromCommand) && (streamName.includes('/') || streamName === '' || streamName === '.' || streamName === '..' || streamName.includes('\0'))) throw new UsageError(`--stdin-name must be a file name without '/', got ${JSON.stringify(streamName)}`)
    // a set whose source is a command (node.json) runs it as --stdin-from-command would
    const setCommand = set?.command
    const streaming = fromStdin || fromCommand || setCommand != null
    const paths = set != null ? setSnapshotPaths(set) : streaming ? [`/${streamName}`] : ctx.args.map(p => resolve(p))
    if (paths.length === 0) throw new UsageError('backup needs PATH... or --set NAME')
    const tags = (ctx.values.tag as string[] | undefined) ?? []
    for (const t of tags) if (!/^[A-Za-z0-9._:-]{1,64}$/.test(t)) throw new UsageError(`--tag must be 1-64 letters, digits, '.', '_', ':' or '-', got ${JSON.stringify(t)}`)
    // the host the snapshot is of (default: this machine's name), for a machine whose name changes
    const host = ctx.values.host as string | undefined
    if (host != null && !/^[A-Za-z0-9._-]{1,253}$/.test(host)) throw new UsageError(`--host must be a host name (letters, digits, '.', '_', '-'), got ${JSON.stringify(host)}`)

    const bar = new ProgressBar('backup')
    const onProgress = (e: SessionEvent): void => {
      if (e.type === 'scan:progress') bar.message(`scanning: ${e.files} files, ${formatBytes(e.bytes)}`)
      else if (e.type === 'backup:progress') bar.update(e.bytesDone, e.bytesTotal, `${e.filesDone}/${e.filesTotal} files`)
      else if (e.type === 'backup:warning') { bar.done(); ctx.err(`warning: ${e.path}: ${e.message}`) } else if (e.type === 'backup:phase' && e.phase === 'commit') bar.message('committing snapshot...')
      else if (e.type === 'session:hook' && !e.ok) { bar.done(); ctx.err(`warning: ${e.message ?? `${e.phase} hook failed`}`) } else if (e.type === 'session:notify' && !e.ok) ctx.err(`warning: notification failed: ${e.message ?? ''}`)
    }
    // the stream is made when the session starts it (after the pre-hook): a command starts then
    const streamSource = async (): Promise<StreamSource> => {
      if (fromStdin) return { name: streamName, input: ctx.stdin! }
      const { commandSource } = await import('../backup/index.js')
      const argv = setCommand ?? ctx.args
      return commandSource(argv, { name: setCommand != null ? set!.name : streamName, signal: ctx.signal, onStderr: line => { bar.done(); ctx.err(`${argv[0]}: ${line}`) } })
    }
    let before: Set<string> | undefined
    let after: Array<[string, string]> = []
    // opened first: a wrong passphrase or a missing repository is an error of the command, not a session
    const repo = await openRepository(ctx)
    let handedOver = false
    const outcome = await runSession({
      home,
      backup: config.backup,
      paths,
      set: set?.name,
      exclude: [...(set?.exclude ?? []), ...((ctx.values.exclude as string[] | undefined) ?? [])],
      trigger: 'manual',
      signal: ctx.signal,
      onProgress,
      extra: { tags, pause: ctx.pause, ...(host != null ? { hostname: host } : {}) },
      ...(streaming ? { source: streamSource } : {}),
      open: async () => { handedOver = true; return repo },
      before: async repo => { before = new Set((await repo.register.rebalanceNeeded()).keys()) },
      after: async repo => { after = [...(await repo.register.rebalanceNeeded()).entries()].filter(([id]) => before?.has(id) !== true) }
    }).finally(async () => { if (!handedOver) await repo.close() })
    const { report, result, error } = outcome
    bar.done()
    if (error != null) throw error
    if (after.length > 0) ctx.err(`warning: ${after.length} pack(s) stored with less spread over sites than asked (full redundancy kept): ${after[0][1]}; they are rebalanced once the sites allow it`)
    const res = result!
    const sum = res.snapshot.summary
    if (ctx.json) {
      printJson(ctx, { snapshot: res.name, short: res.name.slice(0, 8), session: report.id, partial: res.snapshot.partial, tags: res.snapshot.tags ?? [], warnings: res.warnings, peakRssBytes: process.resourceUsage().maxRSS * 1024, ...sum })
    } else {
      ctx.out(`snapshot ${res.name.slice(0, 8)} saved${res.snapshot.partial ? ' (partial: some files could not be read)' : ''}`)
      ctx.out(`files: ${sum.filesNew} new, ${sum.filesChanged} changed, ${sum.filesUnchanged} unchanged; ${sum.dirs} directories`)
      ctx.out(`read ${formatBytes(sum.bytesRead)} of ${formatBytes(sum.totalBytes)}, added ${formatBytes(sum.bytesAdded)}, stored ${formatBytes(sum.bytesStored)} in shards, in ${formatDuration(sum.durationMs)} (${(sum.durationMs / 1000).toFixed(2)} s)`)
    }
    return report.status === 'partial' ? EXIT.partial : EXIT.ok
  }
}

const sessionsCmd: Command = {
  name: 'sessions',
  usage: 'holdfast sessions [--home DIR] [--json] [--set NAME] [--limit N]',
  summary: 'list the reports of past backup sessions and restores run by the daemon (newest first)',
  options: { set: { type: 'string' }, limit: { type: 'string' } },
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const { SessionLog } = await import('../session/index.js')
    const limit = intOption(ctx, 'limit') ?? 50
    if (limit < 1) throw new UsageError('--limit must be at least 1')
    const reports = await new SessionLog(homeOf(ctx)).list({ limit, set: ctx.values.set as string | undefined })
    if (ctx.json) { printJson(ctx, reports); return EXIT.ok }
    if (reports.length === 0) { ctx.out('no sessions'); return EXIT.ok }
    ctx.out('Session           Started              Trigger   Set           Status   Snapshot  Files new/chg       Read     Stored  Problems')
    for (const r of reports) ctx.out(sessionLine(r))
    return EXIT.ok
  }
}

function sessionLine (r: SessionReport): string {
  const problems = r.errorsTotal + r.warningsTotal > 0 ? `${r.errorsTotal} errors, ${r.warningsTotal} warnings` : ''
  const reason = r.reason != null ? `  ${r.reason}` : ''
  const note = r.note != null ? `  (${r.note})` : r.kind === 'restore' && r.target != null ? `  (to ${r.target})` : ''
  const retry = r.nextRetry != null ? `  next retry at ${r.nextRetry.slice(0, 19).replace('T', ' ')}` : ''
  return `${r.id}  ${r.started.slice(0, 19).replace('T', ' ')}  ${(r.kind === 'restore' ? 'restore' : r.trigger).padEnd(8)}  ${(r.set ?? '-').padEnd(12).slice(0, 12)}  ${r.status.padEnd(7)}  ${(r.snapshot?.slice(0, 8) ?? '-').padEnd(8)}  ${`${r.counts.filesNew}/${r.counts.filesChanged}`.padStart(13)}  ${formatBytes(r.bytesRead).padStart(9)}  ${formatBytes(r.bytesStored).padStart(9)}  ${problems}${reason}${note}${retry}`
}

export const SESSION_COMMANDS: Command[] = [backupCmd, sessionsCmd]
