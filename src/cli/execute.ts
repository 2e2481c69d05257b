import { parseArgs } from 'node:util'
import { COMMANDS, EXIT } from './commands.js'
import { HoldfastError, UsageError } from '../errors.js'
import type { CommandContext, CommandIo } from './context.js'

/**
 * Parses a command line and runs the command, turning errors into one clear line and a documented exit
 * code. The CLI process and the daemon (for commands sent over its API) both run commands through here.
 */
const GLOBAL = {
  home: { type: 'string' },
  'passphrase-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

/** Transfer limits every repository command takes (they override the node config's for that command). */
const TRANSFER = {
  'limit-upload': { type: 'string' },
  'limit-download': { type: 'string' },
  transfers: { type: 'string' }
} as const

/** What an exclusive command takes: how long to wait for the repository's lock. */
const LOCKING = {
  'lock-wait': { type: 'string' }
} as const

export function help (): string {
  return ['holdfast - peer-to-peer encrypted offsite backup', '', 'Usage:',
    ...COMMANDS.map(c => `  ${c.usage}\n      ${c.summary}`), '',
    'The home defaults to $HOLDFAST_HOME or the user data directory; the passphrase comes from',
    '$HOLDFAST_PASSPHRASE, --passphrase-file FILE or a prompt on a terminal.',
    'Repository commands also take --limit-upload SIZE, --limit-download SIZE (bytes per second) and',
    '--transfers N (shard transfers at once, 1-10), over the node config\'s bandwidth and transfers.',
    'Commands that change the repository (backup, forget, archive, prune, repair, rebuild-index) take its',
    'lock; --lock-wait DURATION (e.g. 30s, 5m) waits that long for another holder, instead of exit 11.',
    'Exit codes: 0 ok, 1 error, 2 usage, 3 partial (files skipped or not restored), 10 no repository,',
    '11 locked, 12 wrong passphrase, 13 no daemon runs, 14 not allowed by this node\'s role (a read-only device), 130 interrupted.'].join('\n')
}

/** The reason a command is cancelled with when its standard output is closed by the reader. */
export const STDOUT_CLOSED = 'standard output closed'

export async function executeCommand (argv: string[], io: CommandIo): Promise<number> {
  const [name, ...rest] = argv
  if (name == null || name === 'help' || name === '--help' || name === '-h') { io.out(help()); return name == null ? EXIT.usage : EXIT.ok }
  if (name === '--version') { io.out('holdfast 0.1.0'); return EXIT.ok }
  const cmd = COMMANDS.find(c => c.name === name)
  try {
    if (cmd == null) throw new UsageError(`unknown command "${name}" (see holdfast --help)`)
    let parsed
    try {
      parsed = parseArgs({ args: rest, options: { ...GLOBAL, ...(cmd.repository != null && cmd.repository !== false ? TRANSFER : {}), ...(cmd.exclusive === true ? LOCKING : {}), ...cmd.options }, allowPositionals: true, strict: true })
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${cmd.usage}`)
    }
    if (parsed.values.help === true) { io.out(`usage: ${cmd.usage}\n  ${cmd.summary}`); return EXIT.ok }
    if (parsed.positionals.length < cmd.minArgs || parsed.positionals.length > cmd.maxArgs) throw new UsageError(`wrong number of arguments\nusage: ${cmd.usage}`)
    const ctx: CommandContext = {
      ...io,
      command: cmd,
      args: parsed.positionals,
      values: parsed.values as CommandContext['values'],
      json: parsed.values.json === true
    }
    const repository = typeof cmd.repository === 'function' ? cmd.repository(parsed.positionals) : cmd.repository === true
    if (repository && io.forward != null) {
      const code = await io.forward(cmd, ctx)
      if (code != null) return code
    }
    return await cmd.run(ctx)
  } catch (err) {
    if (io.signal.aborted) {
      // the reader of our output went away (main.ts): nothing to say, as with any command cut by a closed pipe
      if (!(io.signal.reason instanceof Error && io.signal.reason.message === STDOUT_CLOSED)) io.err('holdfast: interrupted')
      return 130
    }
    if (err instanceof HoldfastError) {
      io.err(`holdfast: ${err.message}`)
      return err.exitCode
    }
    const e = err as NodeJS.ErrnoException
    io.err(`holdfast: ${e.code != null ? `${e.code}: ` : ''}${e.message}`)
    if (process.env.HOLDFAST_DEBUG != null) io.err(e.stack ?? '')
    return EXIT.error
  }
}
