#!/usr/bin/env node
import '../polyfill.js'
import { parseArgs } from 'node:util'
import { COMMANDS, EXIT } from './commands.js'
import { HoldfastError, UsageError } from '../errors.js'
import type { CommandContext } from './context.js'

/**
 * The holdfast command line: parses arguments, runs one command with a cancellation signal wired to
 * SIGINT/SIGTERM, and turns errors into one clear line and a documented exit code.
 */
const GLOBAL = {
  home: { type: 'string' },
  'passphrase-file': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

function help (): string {
  return ['holdfast - peer-to-peer encrypted offsite backup', '', 'Usage:',
    ...COMMANDS.map(c => `  ${c.usage}\n      ${c.summary}`), '',
    'The home defaults to $HOLDFAST_HOME or the user data directory; the passphrase comes from',
    '$HOLDFAST_PASSPHRASE, --passphrase-file FILE or a prompt on a terminal.',
    'Exit codes: 0 ok, 1 error, 2 usage, 3 partial (files skipped or not restored), 10 no repository,',
    '11 locked, 12 wrong passphrase, 130 interrupted.'].join('\n')
}

export async function main (argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name == null || name === 'help' || name === '--help' || name === '-h') { process.stdout.write(help() + '\n'); return name == null ? EXIT.usage : EXIT.ok }
  if (name === '--version') { process.stdout.write('holdfast 0.1.0\n'); return EXIT.ok }
  const cmd = COMMANDS.find(c => c.name === name)
  const controller = new AbortController()
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130)
    controller.abort(new Error('interrupted'))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    if (cmd == null) throw new UsageError(`unknown command "${name}" (see holdfast --help)`)
    let parsed
    try {
      parsed = parseArgs({ args: rest, options: { ...GLOBAL, ...cmd.options }, allowPositionals: true, strict: true })
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${cmd.usage}`)
    }
    if (parsed.values.help === true) { process.stdout.write(`usage: ${cmd.usage}\n  ${cmd.summary}\n`); return EXIT.ok }
    if (parsed.positionals.length < cmd.minArgs || parsed.positionals.length > cmd.maxArgs) throw new UsageError(`wrong number of arguments\nusage: ${cmd.usage}`)
    const ctx: CommandContext = {
      args: parsed.positionals,
      values: parsed.values as CommandContext['values'],
      signal: controller.signal,
      out: line => process.stdout.write(line + '\n'),
      err: line => process.stderr.write(line + '\n'),
      json: parsed.values.json === true
    }
    return await cmd.run(ctx)
  } catch (err) {
    if (controller.signal.aborted) { process.stderr.write('holdfast: interrupted\n'); return 130 }
    if (err instanceof HoldfastError) {
      process.stderr.write(`holdfast: ${err.message}\n`)
      return err.exitCode
    }
    const e = err as NodeJS.ErrnoException
    process.stderr.write(`holdfast: ${e.code != null ? `${e.code}: ` : ''}${e.message}\n`)
    if (process.env.HOLDFAST_DEBUG != null) process.stderr.write(`${e.stack ?? ''}\n`)
    return EXIT.error
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, err => { process.stderr.write(`holdfast: ${String(err)}\n`); process.exitCode = 1 })
