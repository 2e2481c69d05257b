import { spawn } from 'node:child_process'

/** Bytes of a hook's output kept (its tail) for the report. */
export const HOOK_OUTPUT_TAIL = 4096

/**
 * Variables that carry a secret and never reach a hook: a hook is any shell command from the node
 * config, and its children (a dump tool, curl) may log or leak their environment.
 */
export const SECRET_ENV: readonly string[] = ['HOLDFAST_PASSPHRASE']

/** The environment a hook runs with: the process's own without its secrets, plus the session's variables. */
export function hookEnv (base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...base, ...extra }
  for (const name of SECRET_ENV) delete env[name]
  return env
}

export interface HookResult {
  /** Exit code; null when killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  /** The last HOOK_OUTPUT_TAIL bytes of stdout and stderr together. */
  output: string
  durationMs: number
}

export interface RunHookOptions {
  env: Record<string, string>
  timeoutMs: number
  cwd?: string
  signal?: AbortSignal
}

/**
 * Runs a hook command with /bin/sh in its own process group, so that a timeout or a cancellation kills the
 * whole group (a hook's children included). Never throws for the command's own failure: the result says
 * how it ended (`hookFailed`, `describeHookFailure`). The passphrase variable is not passed on (SECRET_ENV).
 */
export async function runHook (command: string, options: RunHookOptions): Promise<HookResult> {
  const started = Date.now()
  return await new Promise<HookResult>((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: options.cwd,
      env: hookEnv(process.env, options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true
    })
    let tail = Buffer.alloc(0)
    const keep = (chunk: Buffer): void => {
      tail = Buffer.concat([tail, chunk])
      if (tail.length > HOOK_OUTPUT_TAIL) tail = tail.subarray(tail.length - HOOK_OUTPUT_TAIL)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    let timedOut = false
    const killGroup = (): void => {
      try { if (child.pid != null) process.kill(-child.pid, 'SIGKILL') } catch {}
    }
    const timer = setTimeout(() => { timedOut = true; killGroup() }, options.timeoutMs)
    const onAbort = (): void => killGroup()
    options.signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', err => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      resolve({ code, signal, timedOut, output: tail.toString('utf8'), durationMs: Date.now() - started })
    })
  })
}

export function hookFailed (r: HookResult): boolean {
  return r.timedOut || r.code !== 0
}

/** One line saying how a hook failed, with the last line of its output. */
export function describeHookFailure (which: string, r: HookResult, timeoutMs: number): string {
  const how = r.timedOut ? `timed out after ${Math.round(timeoutMs / 1000)} s` : r.code != null ? `exited with code ${r.code}` : `killed by ${r.signal ?? 'a signal'}`
  const last = r.output.trim().split('\n').pop()?.slice(0, 200)
  return `${which} hook ${how}${last != null && last !== '' ? `: ${last}` : ''}`
}
