import { defaultHome } from '../home/home.js'
import type { Repository, OpenOptions } from '../repository/repository.js'
import type { SnapshotFilter } from '../repository/snapshot-filter.js'
import type { ShardStore } from '../store/index.js'
import type { HealthSettings } from '../maintenance/repository-health.js'
import type { SessionReport } from '../session/session-report.js'
import { getPassphrase } from './passphrase.js'
import { UsageError } from '../errors.js'
import { parseSize } from '../util/format.js'
import { lockWaitOption, type Command } from './command.js'

/** Where a command's output goes, and what its caller provides. */
export interface CommandIo {
  signal: AbortSignal
  out: (line: string) => void
  err: (line: string) => void
  /** The CLI's standard output for raw bytes (`dump`); absent inside the daemon. */
  stdout?: NodeJS.WritableStream
  /** The CLI's standard input (`backup --stdin`); absent inside the daemon. */
  stdin?: AsyncIterable<Uint8Array>
  /** The passphrase, when the caller has it already (a command sent to the daemon). */
  passphrase?: string
  /** The stores of a peers repository (inside the daemon: one per trusted peer). */
  openStores?: () => Promise<ShardStore[]>
  /** What a backup does when the peers cannot give a pack the spread over sites the rules ask (the node config). */
  placement?: OpenOptions['placement']
  /** Health rules from the node config (grace, audit period, repair threshold), for health and repair. */
  health?: HealthSettings
  /** Opens the repository's key file (inside the daemon: keys it opened before are kept, see UnlockCache). */
  unlock?: OpenOptions['unlock']
  /** A backup waits here while a restore runs (the daemon: a restore takes priority). */
  pause?: (signal?: AbortSignal) => Promise<void>
  /** Writes a session report to the daemon's session log (a restore run inside the daemon logs itself there). */
  logSession?: (report: SessionReport) => Promise<void>
  /**
   * Runs a repository command elsewhere (the CLI sends a peers repository's commands to its daemon);
   * returns the exit code, or undefined to run it here.
   */
  forward?: (cmd: { name: string, absoluteArgs?: (args: string[], values?: Record<string, unknown>) => string[] }, ctx: CommandContext) => Promise<number | undefined>
}

/** What every command gets: its parsed options, output streams, a cancellation signal. */
export interface CommandContext extends CommandIo {
  /** the command being run: its name and how it uses the repository */
  command?: Pick<Command, 'name' | 'readOnly' | 'exclusive'>
  args: string[]
  values: Record<string, string | boolean | string[] | undefined>
  json: boolean
}

export function homeOf (ctx: CommandContext): string {
  return typeof ctx.values.home === 'string' ? ctx.values.home : defaultHome()
}

export async function openRepository (ctx: CommandContext): Promise<Repository> {
  const home = homeOf(ctx)
  const limits = transferLimits(ctx)
  const passphrase = ctx.passphrase ?? await getPassphrase({ file: ctx.values['passphrase-file'] as string | undefined })
  const stores = ctx.openStores != null ? await ctx.openStores() : undefined
  // imported here: the CLI process does not load the engine for a command it sends to the daemon
  const { Repository } = await import('../repository/repository.js')
  const { RateLimiter, limitStores } = await import('../bandwidth/index.js')
  const { ByteBudget } = await import('../util/byte-budget.js')
  const wrapStores = limits == null
    ? undefined
    : (list: ShardStore[]) => limitStores(list, new RateLimiter({ upload: limits.upload, download: limits.download }), limits.transfers != null ? new ByteBudget(limits.transfers) : undefined)
  const { loadNodeConfig } = await import('../config/index.js')
  const { openVault } = await import('../store/directory-store.js')
  const nodeConfig = await loadNodeConfig(home)
  const vault = await openVault(nodeConfig.vault)
  const locks = { staleMs: nodeConfig.locks.staleSeconds * 1000, refreshMs: nodeConfig.locks.refreshSeconds * 1000 }
  const cmd = ctx.command
  const access = cmd?.readOnly === true ? { readOnly: true } : cmd?.exclusive === true ? { lock: { what: cmd.name, wait: lockWaitOption(ctx) } } : {}
  return await Repository.open(home, passphrase, { signal: ctx.signal, stores, unlock: ctx.unlock, placement: ctx.placement, wrapStores, vault, locks, ...access })
}

/**
 * The command's own transfer limits (--limit-upload, --limit-download, --transfers), or undefined. They
 * apply to every store of the command, directory stores too; the daemon applies the node config's to
 * the peers' stores in any case.
 */
export function transferLimits (ctx: CommandContext): { upload: number, download: number, transfers?: number } | undefined {
  const size = (name: string): number => {
    const v = ctx.values[name]
    if (v == null) return 0
    try { return parseSize(String(v)) } catch { throw new UsageError(`--${name} must be bytes per second, a number or a size like 2MiB, got ${String(v)}`) }
  }
  const upload = size('limit-upload')
  const download = size('limit-download')
  let transfers: number | undefined
  if (ctx.values.transfers != null) {
    transfers = Number(ctx.values.transfers)
    if (!Number.isInteger(transfers) || transfers < 1 || transfers > 10) throw new UsageError(`--transfers must be from 1 to 10, got ${String(ctx.values.transfers)}`)
  }
  return upload > 0 || download > 0 || transfers != null ? { upload, download, transfers } : undefined
}

export async function withRepository<T> (ctx: CommandContext, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openRepository(ctx)
  try {
    return await fn(repo)
  } finally {
    await repo.close()
  }
}

export function printJson (ctx: CommandContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2))
}

/** The options that choose which snapshot `latest` means, for the commands that take one. */
export const SNAPSHOT_FILTER_OPTIONS = { host: { type: 'string' }, tag: { type: 'string', multiple: true } } as const

/** `--host`, `--tag` (and the path the command works on) as a filter for `latest`. */
export function snapshotFilter (ctx: CommandContext, path?: string): SnapshotFilter {
  const tags = ctx.values.tag as string[] | undefined
  return {
    ...(path != null ? { path } : {}),
    ...(ctx.values.host != null ? { host: String(ctx.values.host) } : {}),
    ...(tags != null && tags.length > 0 ? { tags } : {})
  }
}
