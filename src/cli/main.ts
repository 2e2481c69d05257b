#!/usr/bin/env node
import '../polyfill.js'
import { executeCommand, STDOUT_CLOSED } from './execute.js'
import { forwardToDaemon } from './forward.js'

/** Set when writing standard output failed for another reason than a reader gone: the command fails. */
let stdoutFailed = false

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
  // `holdfast ls latest | head`: once the reader of our output is gone (EPIPE), the lines are not wanted and
  // the command is cancelled, as Ctrl-C would (a command that has done its work, such as a backup that
  // saved its snapshot before printing, ends with its own exit code); never a crash on an unhandled
  // 'error' event. Another error writing stdout is said once and fails the command. Diagnostics to a
  // closed stderr are dropped. The listeners stay until the process ends: a write's error is emitted after
  // the write, maybe after the command returned.
  let stdoutGone = false
  process.stdout.on('error', (err: NodeJS.ErrnoException): void => {
    if (stdoutGone) return
    stdoutGone = true
    if (err.code !== 'EPIPE') {
      stdoutFailed = true
      if (process.exitCode == null || process.exitCode === 0) process.exitCode = 1
      if (!stderrGone) process.stderr.write(`holdfast: standard output: ${err.message}\n`)
    }
    controller.abort(new Error(STDOUT_CLOSED))
  })
  let stderrGone = false
  process.stderr.on('error', () => { stderrGone = true })
  try {
    return await executeCommand(argv, {
      signal: controller.signal,
      out: line => { if (!stdoutGone) process.stdout.write(line + '\n') },
      err: line => { if (!stderrGone) process.stderr.write(line + '\n') },
      stdin: process.stdin,
      stdout: process.stdout,
      forward: forwardToDaemon
    })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

main(process.argv.slice(2)).then(code => { process.exitCode = stdoutFailed && code === 0 ? 1 : code }, err => { process.stderr.write(`holdfast: ${String(err)}\n`); process.exitCode = 1 })
