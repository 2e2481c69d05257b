#!/usr/bin/env node
import '../polyfill.js'
import { executeCommand } from './execute.js'
import { forwardToDaemon } from './forward.js'

/**
 * The holdfast command line: runs one command with a cancellation signal wired to SIGINT/SIGTERM.
 * A repository whose shards go to peers is worked on by its daemon: such commands travel to it over
 * the local control API (see forward.ts).
 */
export async function main (argv: string[]): Promise<number> {
  const controller = new AbortController()
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130)
    controller.abort(new Error('interrupted'))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // `holdfast ls latest | head`: once the reader of our output is gone (EPIPE) the lines are not wanted,
  // and the command ends as it would have (a backup still saves its snapshot) instead of dying on an
  // unhandled 'error' event; a stream written to stdout (dump) still sees the error and stops. The
  // listener stays until the process ends: a write's error is emitted after the write, maybe after the
  // command returned
  let stdoutGone = false
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') stdoutGone = true
    else process.stderr.write(`holdfast: standard output: ${err.message}\n`)
  }
  process.stdout.on('error', onStdoutError)
  try {
    return await executeCommand(argv, {
      signal: controller.signal,
      out: line => { if (!stdoutGone) process.stdout.write(line + '\n') },
      err: line => process.stderr.write(line + '\n'),
      stdin: process.stdin,
      stdout: process.stdout,
      forward: forwardToDaemon
    })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = code }, err => { process.stderr.write(`holdfast: ${String(err)}\n`); process.exitCode = 1 })
