import { spawn, ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BIN, CLI } from './cli-runner.js'

/**
 * Starts `holdfast daemon` in its own process (as a user would) and waits until it has written
 * HOME/daemon.json. Used by the demo and the integration tests; `stop` sends SIGTERM and waits for
 * the exit (SIGKILL after a grace period). `nodeArgs` go to node before the script (e.g. --cpu-prof).
 */
export interface RunningDaemon {
  home: string
  peerId: string
  addresses: string[]
  /** The control API's Unix socket (HOME/api.sock). */
  api: string
  process: ChildProcess
  output: () => string
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

export async function startDaemon (home: string, env: NodeJS.ProcessEnv = {}, options: { listen?: string[], timeoutMs?: number, nodeArgs?: string[], bin?: boolean, cli?: string } = {}): Promise<RunningDaemon> {
  const listen = options.listen ?? ['/ip4/127.0.0.1/tcp/0']
  const daemonArgs = ['daemon', '--home', home, ...listen.flatMap(a => ['--listen', a])]
  // bin: through bin/holdfast, as an installed holdfast runs (its allocator settings included); cli: another
  // entry point (a test fixture that wraps the CLI)
  const [command, args] = options.bin === true ? [BIN, daemonArgs] : [process.execPath, [...options.nodeArgs ?? [], options.cli ?? CLI, ...daemonArgs]]
  const child = spawn(command, args, {
    env: { ...process.env, HOLDFAST_HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout?.on('data', d => { output += String(d) })
  child.stderr?.on('data', d => { output += String(d) })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  let gone = false
  void exited.then(() => { gone = true })
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (gone) return child.exitCode
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    try { return await exited } finally { clearTimeout(timer) }
  }
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  for (;;) {
    if (gone) throw new Error(`the daemon for ${home} exited before it was ready:\n${output}`)
    try {
      const info = JSON.parse(await readFile(join(home, 'daemon.json'), 'utf8'))
      if (info.pid === child.pid) return { home, peerId: info.peerId, addresses: info.addresses, api: info.api, process: child, output: () => output, stop }
    } catch {}
    if (Date.now() > deadline) { await stop('SIGKILL'); throw new Error(`the daemon for ${home} was not ready in time:\n${output}`) }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}
