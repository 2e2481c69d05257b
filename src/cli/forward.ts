import { UsageError } from '../errors.js'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import { ApiClient, notRunning } from '../api/index.js'
import { readHomeConfig } from '../home/home.js'
import { CommandContext, homeOf } from './context.js'
import type { Command } from './command.js'
import { getPassphrase } from './passphrase.js'

/**
 * Sends a repository command to the node's daemon when the repository keeps its shards on peers (the
 * daemon holds the libp2p node). Paths are made absolute here, where the user typed them; the
 * passphrase is read here too and travels over the API's Unix socket in the home (nowhere else: see
 * ApiClient). The daemon streams the command's output lines back, then its exit code.
 */
export async function forwardToDaemon (cmd: Pick<Command, 'name' | 'absoluteArgs'>, ctx: CommandContext): Promise<number | undefined> {
  const home = resolve(homeOf(ctx))
  let peers = false
  try { peers = (await readHomeConfig(home)).peers === true } catch { return undefined } // the command reports it
  if (!peers) return undefined
  // this process's standard input (backup --stdin) or output (dump) travel to the daemon beside the command
  const stdin = ctx.values.stdin === true
  const stdout = cmd.name === 'dump' && ctx.values.output == null
  if (stdin && ctx.stdin == null) throw new UsageError('--stdin: this process has no standard input to read')
  if (stdout && ctx.stdout == null) throw new UsageError('dump: no standard output here; give --output FILE')
  const client = await daemonFor(home)
  const passphrase = await getPassphrase({ file: ctx.values['passphrase-file'] as string | undefined })
  const argv = [cmd.name, '--home', home]
  for (const [key, value] of Object.entries(ctx.values)) {
    if (key === 'home' || key === 'passphrase-file' || value == null || value === false) continue
    if (value === true) argv.push(`--${key}`)
    else for (const v of Array.isArray(value) ? value : [value]) argv.push(`--${key}`, key === 'target' || key === 'output' ? resolve(v) : v)
  }
  // paths are the CLI's, relative to its working directory: the daemon gets them absolute
  argv.push('--', ...(cmd.absoluteArgs?.(ctx.args, ctx.values) ?? ctx.args))
  const pipe = stdin || stdout ? randomBytes(16).toString('hex') : undefined
  const piped = pipe == null
    ? Promise.resolve()
    : stdin ? client.pipeIn(pipe, ctx.stdin!, ctx.signal) : client.pipeOut(pipe, ctx.stdout!, ctx.signal)
  // a pipe that fails is told by the command's own error (it waits for its end, then gives up)
  piped.catch(() => {})
  const { code } = await client.call<{ code: number }>('/cli', { argv, passphrase, ...(pipe != null ? { pipe, stdin, stdout } : {}) }, {
    signal: ctx.signal,
    onEvent: (e: { out?: string, err?: string }) => { if (e.out != null) ctx.out(e.out); else if (e.err != null) ctx.err(e.err) }
  })
  await piped.catch(() => {})
  return code
}

export async function daemonFor (home: string): Promise<ApiClient> {
  const client = await ApiClient.forHome(home)
  if (client == null) throw notRunning(home)
  return client
}
