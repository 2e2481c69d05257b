import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Runs the holdfast CLI (this checkout's build) as a child process, as a user would. Used by scripts and tests. */
export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))
/** The installed command (bin/holdfast: the CLI with the daemon's allocator settings), as `npm link` puts it on PATH. */
export const BIN = fileURLToPath(new URL('../../../bin/holdfast', import.meta.url))

/** `bytes`: the standard output as bytes (for commands that write binary data, such as dump). */
export interface RunResult { code: number, stdout: string, stderr: string, ms: number, bytes?: Buffer }

/** `input`: written to the command's standard input (otherwise it has none). */
export async function runCli (args: string[], env: NodeJS.ProcessEnv = {}, options: { node?: string, timeoutMs?: number, input?: Uint8Array } = {}): Promise<RunResult> {
  const started = Date.now()
  return await new Promise((resolve, reject) => {
    const child = spawn(options.node ?? process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: [options.input != null ? 'pipe' : 'ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout!.on('data', (d: Buffer) => { out.push(d) })
    child.stderr!.on('data', d => { stderr += String(d) })
    if (options.input != null) {
      child.stdin!.on('error', () => {}) // a command that exits without reading it all
      child.stdin!.end(options.input)
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000)
    child.on('error', reject)
    child.on('close', code => {
      clearTimeout(timer)
      const bytes = Buffer.concat(out)
      resolve({ code: code ?? -1, stdout: bytes.toString(), stderr, ms: Date.now() - started, bytes })
    })
  })
}
