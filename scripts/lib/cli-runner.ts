import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Runs the holdfast CLI (this checkout's build) as a child process, as a user would. Used by scripts and tests. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
/** The installed command (bin/holdfast: the CLI with the daemon's allocator settings), as `npm link` puts it on PATH. */
export const BIN = fileURLToPath(new URL('../../../bin/holdfast', import.meta.url))

export interface RunResult { code: number, stdout: string, stderr: string, ms: number }

export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}, options: { node?: string, timeoutMs?: number } = {}): Promise<RunResult> {
  const started = Date.now()
  return await new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000)
    child.on('error', reject)
    child.on('close', code => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }) })
  })
}
