import { UsageError } from '../errors.js'
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
  run: (ctx: CommandContext) => Promise<number>
  /** The arguments with the paths among them made absolute, for a command run by the daemon (another working directory). */
  absoluteArgs?: (args: string[]) => string[]
}

export function intOption (ctx: CommandContext, name: string): number | undefined {
  const v = ctx.values[name]
  if (v == null) return undefined
  const n = Number(v)
  if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${String(v)}`)
  return n
}

