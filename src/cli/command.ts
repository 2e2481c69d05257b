import { UsageError } from '../errors.js'
import { parseDuration } from '../util/duration.js'
import type { CommandContext } from './context.js'

// What every CLI command is: its usage, its options, and what it runs; the exit codes they return.

/** Exit codes (documented in docs/USER-GUIDE.md). */
export const EXIT = { ok: 0, error: 1, usage: 2, partial: 3 } as const

export type OptionSpec = Record<string, { type: 'string' | 'boolean', multiple?: boolean, short?: string }>

export interface Command {
  name: string
  usage: string
  summary: string
  options: OptionSpec
  minArgs: number
  maxArgs: number
  /** works on the repository (sent to the daemon when the shards go to peers); a function decides by the arguments */
  repository?: boolean | ((args: string[]) => boolean)
  /**
   * Only reads the repository: runs while another process writes it (a backup), on a register built from
   * the stores for this command when that process holds the home's register.
   */
  readOnly?: boolean
  /** Changes the repository: takes the home's lock (named by the command) for its whole run, waiting up to --lock-wait. */
  exclusive?: boolean
  run: (ctx: CommandContext) => Promise<number>
  /** The arguments with the paths among them made absolute, for a command run by the daemon (another working directory). */
  absoluteArgs?: (args: string[], values?: Record<string, unknown>) => string[]
}

/** --lock-wait DURATION of an exclusive command, in ms (0: fail at once when the repository is locked). */
export function lockWaitOption (ctx: CommandContext): number {
  const v = ctx.values['lock-wait']
  if (v == null) return 0
  try { return parseDuration(String(v)) } catch { throw new UsageError(`--lock-wait must be a duration such as 30s, 5m or 1h30m, got ${String(v)}`) }
}

export function intOption (ctx: CommandContext, name: string): number | undefined {
  const v = ctx.values[name]
  if (v == null) return undefined
  const n = Number(v)
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${String(v)}`)
  return n
}

