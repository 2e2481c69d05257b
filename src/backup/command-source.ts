import { spawn } from 'node:child_process'
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
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
  const stop = (): void => { child.kill('SIGTERM') }
  options.signal?.addEventListener('abort', stop, { once: true })
  const lastLine = (): string => {
    const lines = tail.trim().split('\n')
    return lines[lines.length - 1] ?? ''
  }
  return {
    name: options.name,
    input: (async function * () {
      try {
        for await (const block of child.stdout) yield block as Uint8Array
      } finally {
        // the backup stopped reading (it failed): the command is stopped too
        if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
      }
    })(),
    close: () => {
      options.signal?.removeEventListener('abort', stop)
      if (child.exitCode == null && child.signalCode == null) child.kill('SIGTERM')
    },
    ended: async () => {
      const r = await exited
      options.signal?.removeEventListener('abort', stop)
      if (partial !== '') { options.onStderr?.(partial); partial = '' }
      if (r.error != null) throw new SourceCommandFailedError(`the command "${shown}" could not be started: ${r.error.message}`, { cause: r.error })
      if (r.signal != null) throw new SourceCommandFailedError(`the command "${shown}" was killed by ${r.signal}; no snapshot was written`)
      if (r.code !== 0) throw new SourceCommandFailedError(`the command "${shown}" exited with status ${String(r.code)}${lastLine() !== '' ? ` (${lastLine()})` : ''}; no snapshot was written`)
    }
  }
}
