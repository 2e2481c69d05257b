import { defaultHome } from '../node/home.js'
import { Repository } from '../repository/repository.js'
import { getPassphrase } from './passphrase.js'

/** What every command gets: its parsed options, output streams, a cancellation signal. */
export interface CommandContext {
  args: string[]
  values: Record<string, string | boolean | string[] | undefined>
  signal: AbortSignal
  out: (line: string) => void
  err: (line: string) => void
  json: boolean
}

export function homeOf (ctx: CommandContext): string {
  return typeof ctx.values.home === 'string' ? ctx.values.home : defaultHome()
}

export async function openRepository (ctx: CommandContext): Promise<Repository> {
  const home = homeOf(ctx)
  const passphrase = await getPassphrase({ file: ctx.values['passphrase-file'] as string | undefined })
  return await Repository.open(home, passphrase, { signal: ctx.signal })
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
