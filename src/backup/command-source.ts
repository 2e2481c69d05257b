import { spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { SourceCommandFailedError } from '../errors.js'
import type { StreamSource } from './backup.js'

/** What is kept of the command's standard error for the error message (its last lines). */
const STDERR_KEPT = 4096

/**
 * A command whose standard output a backup stores as one file (`backup --stdin-from-command`, a database
 * dump): started at once, its output read as the stream, and its exit status checked before the snapshot
 * is committed (`ended`): a command that cannot start, exits non-zero or is killed fails the backup with
 * SourceCommandFailedError, and no snapshot is written. Its standard error goes to `onStderr` line by line.
 * Stopped (SIGTERM) when `signal` aborts.
 */
export function commandSource (argv: string[], options: { name: string, onStderr?: (line: string) => void, signal?: AbortSignal, cwd?: string }): StreamSource {
  if (argv.length === 0 || argv[0] === '') throw new SourceCommandFailedError('no command given')
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd })
  // read from the start: a child that exits before the backup reads its output would otherwise have it
  // discarded by Node (unread stdio is drained at exit); the pipe holds at most 1 MiB, then the command waits
  const output = new PassThrough({ highWaterMark: 1024 * 1024 })
  child.stdout.pipe(output)
  const shown = argv.join(' ').slice(0, 200)
  let tail = ''
  let partial = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => {
    tail = (tail + text).slice(-STDERR_KEPT)
    partial += text
    let nl
    while ((nl = partial.indexOf('\n')) >= 0) {
      options.onStderr?.(partial.slice(0, nl))
      partial = partial.slice(nl + 1)
    }
    if (partial.length > STDERR_KEPT) { options.onStderr?.(partial); partial = '' }
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null, error?: Error }>(resolve => {
    child.on('error', error => resolve({ code: null, signal: null, error }))
    // 'exit', not 'close': ended() is asked once the output is read to its end, and a command stopped by
    // close() may leave unread output that would hold 'close' back
    child.on('exit', (code, signal) => resolve({ code, signal }))
  })
  const stop = (): void => { child.kill('SIGTERM') }
  options.signal?.addEventListener('abort', stop, { once: true })
  const lastLine = (): string => {
    const lines = tail.trim().split('\n')
    return lines[lines.length - 1] ?? ''
  }
  return {
    name: options.name,
    // a command whose output is not read to its end (the backup failed) is stopped by close()
    input: output,
    close: () => {
      options.signal?.removeEventListener('abort', stop)
      if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
      child.stdout.unpipe(output)
      child.stdout.destroy()
      output.destroy()
    },
    ended: async () => {
      const r = await exited
      // the last lines of its standard error (read as they come) may still be on their way
      if (!child.stderr.destroyed && !child.stderr.readableEnded) await new Promise(resolve => child.stderr.once('close', resolve))
      options.signal?.removeEventListener('abort', stop)
      if (partial !== '') { options.onStderr?.(partial); partial = '' }
      if (r.error != null) throw new SourceCommandFailedError(`the command "${shown}" could not be started: ${r.error.message}`, { cause: r.error })
      if (r.signal != null) throw new SourceCommandFailedError(`the command "${shown}" was killed by ${r.signal}; no snapshot was written`)
      if (r.code !== 0) throw new SourceCommandFailedError(`the command "${shown}" exited with status ${String(r.code)}${lastLine() !== '' ? ` (${lastLine()})` : ''}; no snapshot was written`)
    }
  }
}
