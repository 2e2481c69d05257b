import { UsageError } from '../errors.js'
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
  // the daemon cannot read this process's standard input (a command's output: --stdin-from-command, which it runs)
  if (ctx.values.stdin === true) throw new UsageError('--stdin cannot be sent to the daemon that reaches the peers: use --stdin-from-command -- COMMAND ARGS... (the daemon runs it), or back up a file')
  if (cmd.name === 'dump' && ctx.values.output == null) throw new UsageError('dump writes to standard output only here: with a daemon reaching the peers, give --output FILE')
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
  const { code } = await client.call<{ code: number }>('/cli', { argv, passphrase }, {
    signal: ctx.signal,
    onEvent: (e: { out?: string, err?: string }) => { if (e.out != null) ctx.out(e.out); else if (e.err != null) ctx.err(e.err) }
  })
  return code
}

export async function daemonFor (home: string): Promise<ApiClient> {
  const client = await ApiClient.forHome(home)
  if (client == null) throw notRunning(home)
  return client
}
