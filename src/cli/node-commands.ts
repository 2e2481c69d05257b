import { resolve } from 'node:path'
import type { Command } from './command.js'
import { CommandContext, homeOf, printJson } from './context.js'
import { daemonFor } from './forward.js'
import { formatBytes } from '../util/format.js'
import { ConfigError, DaemonNotRunningError, UsageError } from '../errors.js'

/**
 * The node's commands: `daemon` runs the node in the foreground; `peers` manages the trust list through
 * the running daemon (which holds the libp2p node and the pending invites).
 */
const DEFAULT_QUOTA = '10GiB'

const daemon: Command = {
  name: 'daemon',
  usage: 'holdfast daemon [--home DIR] [--listen MULTIADDR]...',
  summary: 'run the node (owner and host) in the foreground until SIGINT or SIGTERM (SIGHUP: reload node.json)',
  options: { listen: { type: 'string', multiple: true } },
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const home = resolve(homeOf(ctx))
    // loaded here only: the libp2p stack is not needed by any other command
    const { executeCommand } = await import('./execute.js')
    const { COMMANDS } = await import('./commands.js')
    const { Daemon, maintenanceLines, scrubLine, sessionLine } = await import('../daemon/index.js')
    const node = new Daemon({
      home,
      listen: ctx.values.listen as string[] | undefined,
      runCommand: async (argv, io) => await executeCommand(argv, io),
      readsOnly: (name) => COMMANDS.find(c => c.name === name)?.readOnly === true,
      onError: (err, where) => { if (where === 'dashboard' || process.env.HOLDFAST_DEBUG != null) ctx.err(`holdfast daemon: ${where}: ${(err as Error).message ?? String(err)}`) },
      onScrub: pass => { const line = scrubLine(pass); if (line != null) ctx.out(`holdfast daemon: ${line}`) },
      onSession: r => ctx.out(`holdfast daemon: ${sessionLine(r)}`),
      onMaintenance: round => { for (const line of maintenanceLines(round)) ctx.out(`holdfast daemon: ${line.message}`) },
      // every reload applied (SIGHUP, the dashboard's settings): one line
      onReload: r => {
        ctx.out(`holdfast daemon: node.json reloaded; applied now: ${r.applied.join(', ') || 'nothing changed'}${r.afterRestart.length > 0 ? `; after a restart: ${r.afterRestart.join(', ')}` : ''}`)
      }
    })
    await node.start()
    const info = { peerId: node.peerId, addresses: node.node!.getMultiaddrs().map(String), home, ...(node.guiUrl != null ? { gui: node.guiUrl } : {}) }
    if (ctx.json) printJson(ctx, info)
    else {
      ctx.out(`holdfast daemon: node ${info.peerId} listening on ${info.addresses.join(', ') || '(no addresses)'}`)
      if (info.gui != null) ctx.out(`holdfast daemon: REST API and metrics at ${info.gui}`)
    }
    // SIGHUP: node.json read again and applied without a restart (onReload says what, this why not)
    const onHangup = (): void => {
      node.reload().catch(err => {
        ctx.err(`holdfast daemon: node.json not reloaded, the running configuration is kept: ${(err as Error).message ?? String(err)}`)
      })
    }
    process.on('SIGHUP', onHangup)
    try {
      await new Promise<void>(resolve => {
        if (ctx.signal.aborted) resolve()
        else ctx.signal.addEventListener('abort', () => resolve(), { once: true })
      })
    } finally {
      process.off('SIGHUP', onHangup)
    }
    await node.stop()
    if (!ctx.json) ctx.out('holdfast daemon: stopped')
    return 0
  }
}

const peers: Command = {
  name: 'peers',
  usage: 'holdfast peers invite [--quota SIZE] [--name N] [--expires SECONDS] | accept CODE [--quota SIZE] [--name N] | list [--json] | revoke PEER | grant PEER admin | ungrant PEER admin',
  summary: 'pair with trusted peers (through the running daemon): invite, accept, list, revoke; grant a node of your office the admin role (its Fleet page then shows this node)',
  options: { quota: { type: 'string' }, name: { type: 'string' }, expires: { type: 'string' } },
  minArgs: 1,
  maxArgs: 3,
  async run (ctx) {
    const [sub, arg] = ctx.args
    if (ctx.args.length > 2 && sub !== 'grant' && sub !== 'ungrant') throw new UsageError(`peers ${String(sub)} takes at most one argument`)
    const client = await daemonFor(resolve(homeOf(ctx)))
    const call = async <T>(path: string, body: unknown): Promise<T> => await client.call<T>(path, body, { signal: ctx.signal })
    const quota = (ctx.values.quota as string | undefined) ?? DEFAULT_QUOTA
    const name = ctx.values.name as string | undefined
    if (sub === 'invite') {
      noArg(ctx, arg)
      const expires = ctx.values.expires != null ? Number(ctx.values.expires) : undefined
      if (expires != null && !(Number.isInteger(expires) && expires > 0)) throw new UsageError('--expires must be a whole number of seconds')
      const { code } = await call<{ code: string }>('/peers/invite', { quota, name, expirySeconds: expires })
      if (ctx.json) printJson(ctx, { code })
      else ctx.out(code)
      return 0
    }
    if (sub === 'accept') {
      if (arg == null) throw new UsageError('peers accept needs the invite code')
      const entry = await call<{ peerId: string, name: string, site: string, quotaGranted: number, quotaReceived: number }>('/peers/accept', { code: arg, quota, name })
      if (ctx.json) printJson(ctx, entry)
      else ctx.out(`paired with ${entry.name} (${entry.peerId}, site ${entry.site}): you grant ${formatBytes(entry.quotaGranted)}, it grants ${formatBytes(entry.quotaReceived)}`)
      return 0
    }
    if (sub === 'list') {
      noArg(ctx, arg)
      const list = await call<PeerRow[]>('/peers/list', {})
      if (ctx.json) { printJson(ctx, list); return 0 }
      if (list.length === 0) { ctx.out('no trusted peers yet (holdfast peers invite / accept)'); return 0 }
      for (const p of list) {
        const state = p.revoked === true ? 'revoked' : p.online ? 'online' : `offline${p.lastSeen != null ? `, last seen ${p.lastSeen}` : ''}`
        ctx.out(`${p.name}  ${p.peerId}  site ${p.site}  ${state}`)
        ctx.out(`    stores for me ${formatBytes(p.storesForMe)}, I store for it ${formatBytes(p.storedForThem)}, quota granted ${formatBytes(p.quotaGranted)}`)
        if (p.addresses.length > 0) ctx.out(`    ${p.addresses.join(' ')}`)
        for (const c of p.connections ?? []) ctx.out(`    connected ${c.includes('/p2p-circuit') ? 'through a relay' : 'directly'}: ${c}`)
        const r = p.relayReservation
        if (r != null) ctx.out(r.reserved ? `    relays for this node (relay.reserve): reachable at ${r.addresses.join(' ') || '(no address yet)'}` : `    relays for this node (relay.reserve): no reservation yet${r.lastError != null ? ` (${r.lastError})` : ''}`)
      }
      return 0
    }
    if (sub === 'revoke') {
      if (arg == null) throw new UsageError('peers revoke needs a peer ID or name')
      const entry = await call<{ peerId: string, name: string }>('/peers/revoke', { peer: arg })
      if (ctx.json) printJson(ctx, entry)
      else ctx.out(`revoked ${entry.name} (${entry.peerId}): it can no longer connect or store`)
      return 0
    }
    if (sub === 'grant' || sub === 'ungrant') {
      if (arg == null || ctx.args[2] !== 'admin') throw new UsageError(`peers ${sub} PEER admin: the peer's ID or name, and the role (admin)`)
      const entry = await call<{ peerId: string, name: string, admin?: boolean }>('/peers/grant', { peer: arg, role: 'admin', grant: sub === 'grant' })
      if (ctx.json) printJson(ctx, entry)
      else ctx.out(sub === 'grant' ? `${entry.name} (${entry.peerId}) is an admin of this node: its Fleet page shows this node's status and starts its backups, audits and repairs (never its data or passphrase)` : `${entry.name} (${entry.peerId}) is no longer an admin of this node: it is refused from now on`)
      return 0
    }
    throw new UsageError(`unknown peers command "${String(sub)}": invite, accept, list, revoke, grant or ungrant`)
  }
}

interface PeerRow { peerId: string, name: string, site: string, online: boolean, onlineVia?: string, connections?: string[], relayReservation?: { reserved: boolean, addresses: string[], lastError?: string }, lastSeen?: string, revoked?: boolean, addresses: string[], storesForMe: number, storedForThem: number, quotaGranted: number }

function noArg (ctx: CommandContext, arg: string | undefined): void {
  if (arg != null) throw new UsageError(`peers ${ctx.args[0]} takes no argument`)
}

const gui: Command = {
  name: 'gui',
  usage: 'holdfast gui info [--json] | password [--stdin] [--remove]',
  summary: 'where the running daemon serves its dashboard, REST API and metrics (certificate fingerprint, API key); set or remove the GUI password',
  options: { stdin: { type: 'boolean' }, remove: { type: 'boolean' } },
  minArgs: 1,
  maxArgs: 1,
  async run (ctx) {
    const home = resolve(homeOf(ctx))
    if (ctx.args[0] === 'password') return await guiPassword(ctx, home)
    if (ctx.args[0] !== 'info') throw new UsageError(`unknown gui command "${ctx.args[0]}": info or password`)
    const { readDaemonInfo, apiTokenPath } = await import('../api/index.js')
    const { readGuiCertificate } = await import('../web/gui-certificate.js')
    const { readGuiPassword } = await import('../web/gui-password-file.js')
    const info = await readDaemonInfo(home)
    if (info == null) throw new DaemonNotRunningError(`no daemon runs for ${home} (start it with holdfast daemon)`)
    const https = info.gui?.startsWith('https:') === true
    const fingerprint = https ? (await readGuiCertificate(home))?.fingerprint ?? null : null
    const passwordSet = await readGuiPassword(home) != null
    const out = { url: info.gui ?? null, api: info.gui != null ? `${info.gui}/api/v1` : null, openapi: info.gui != null ? `${info.gui}/api/v1/openapi.json` : null, metrics: info.gui != null ? `${info.gui}/metrics` : null, apiKeyFile: apiTokenPath(home), fingerprint, passwordSet }
    if (ctx.json) { printJson(ctx, out); return 0 }
    if (info.gui == null) { ctx.out('the daemon serves no dashboard (gui.enabled is false, or its port was taken: see the daemon\'s log)'); return 1 }
    ctx.out(`dashboard and REST API: ${out.url}`)
    if (fingerprint != null) ctx.out(`certificate (SHA-256):  ${fingerprint} (self-signed: check that your browser shows this before you accept it)`)
    ctx.out(`GUI password:           ${passwordSet ? 'set (sign in to the dashboard with it)' : 'none (holdfast gui password sets one)'}`)
    ctx.out(`OpenAPI document:       ${out.openapi}`)
    ctx.out(`Prometheus metrics:     ${out.metrics}`)
    ctx.out(`API key for scripts:    the contents of ${out.apiKeyFile} (Authorization: Bearer KEY; a new one at each daemon start)`)
    return 0
  }
}

/** The shortest GUI password taken: it guards a door that may face the network. */
const MIN_GUI_PASSWORD = 8

/** `holdfast gui password`: asks twice on a terminal (--stdin: one line), stores its scrypt hash in HOME/gui.json. */
async function guiPassword (ctx: CommandContext, home: string): Promise<number> {
  const { writeGuiPassword, guiSettingsPath } = await import('../web/gui-password-file.js')
  const { stat } = await import('node:fs/promises')
  if (!(await stat(home).then(s => s.isDirectory(), () => false))) throw new UsageError(`no holdfast home at ${home} (holdfast init makes one; --home DIR names another)`)
  if (ctx.values.remove === true) {
    if (ctx.values.stdin === true) throw new UsageError('gui password takes --remove or --stdin, not both')
    await writeGuiPassword(home, undefined)
    if (!ctx.json) ctx.out('GUI password removed: the dashboard answers on 127.0.0.1 without sign-in (a daemon listening beyond this machine refuses every call until a password is set again)')
    else printJson(ctx, { passwordSet: false })
    return 0
  }
  let password: string
  if (ctx.values.stdin === true) {
    password = await readLine(process.stdin)
  } else {
    if (process.stdin.isTTY !== true) throw new UsageError('no terminal to ask on: pipe the password with --stdin')
    const { prompt } = await import('./passphrase.js')
    password = await prompt('GUI password: ')
    if (await prompt('GUI password again: ') !== password) throw new UsageError('the passwords do not match')
  }
  if (password.length < MIN_GUI_PASSWORD) throw new UsageError(`the GUI password must have ${MIN_GUI_PASSWORD} characters or more`)
  const { hashPassword, MAX_PASSWORD_LENGTH } = await import('../web/gui-password.js')
  if (password.length > MAX_PASSWORD_LENGTH) throw new UsageError(`the GUI password must have ${MAX_PASSWORD_LENGTH} characters or fewer`)
  await writeGuiPassword(home, await hashPassword(password, undefined, { signal: ctx.signal }))
  if (ctx.json) printJson(ctx, { passwordSet: true })
  else ctx.out(`GUI password set (its scrypt hash is in ${guiSettingsPath(home)}); a running daemon asks for it from the next request on`)
  return 0
}

/** The first line of `stream` (without its line end), read to its end or first newline. */
async function readLine (stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) {
    text += String(chunk)
    if (text.includes('\n') || text.length > 64 * 1024) break
  }
  return text.split('\n')[0].replace(/\r$/, '')
}

const service: Command = {
  name: 'service',
  usage: 'holdfast service install [--user] [--strict] [--writable DIR]... [--as USER] [--write-only] | uninstall [--user] | print [--user] [--strict] [--writable DIR]...',
  summary: 'run the daemon as a systemd service (hardened unit; --user for a user service), or remove it',
  options: { user: { type: 'boolean' }, strict: { type: 'boolean' }, writable: { type: 'string', multiple: true }, as: { type: 'string' }, 'write-only': { type: 'boolean' } },
  minArgs: 1,
  maxArgs: 1,
  async run (ctx) {
    const [sub] = ctx.args
    const { systemdUnit } = await import('../service/index.js')
    const { homedir, userInfo } = await import('node:os')
    const { mkdir, rm, writeFile } = await import('node:fs/promises')
    const { spawnSync } = await import('node:child_process')
    const { join, dirname } = await import('node:path')
    const { fileURLToPath } = await import('node:url')
    const user = ctx.values.user === true
    const home = resolve(homeOf(ctx))
    const writable = ((ctx.values.writable as string[] | undefined) ?? []).map(p => resolve(p))
    const unitDir = user ? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd', 'user') : '/etc/systemd/system'
    const unitPath = join(unitDir, 'holdfast.service')
    const systemctl = (...args: string[]): { ok: boolean, said: string } => {
      const r = spawnSync('systemctl', [...(user ? ['--user'] : []), ...args], { encoding: 'utf8' })
      return { ok: r.status === 0, said: (r.error?.message ?? `${r.stderr}${r.stdout}`).trim() }
    }
    const unit = (): string => systemdUnit({
      node: process.execPath,
      cli: join(dirname(fileURLToPath(import.meta.url)), 'main.js'),
      home,
      user,
      runAs: user ? undefined : (ctx.values.as as string | undefined) ?? process.env.SUDO_USER ?? userInfo().username,
      strict: ctx.values.strict === true,
      writable
    })
    if (sub === 'print') { ctx.out(unit()); return 0 }
    if (sub === 'install') {
      const text = unit()
      await mkdir(unitDir, { recursive: true })
      await writeFile(unitPath, text, { mode: 0o644 })
      ctx.out(`wrote ${unitPath}`)
      if (ctx.values['write-only'] === true) {
        ctx.out(`start it with: systemctl ${user ? '--user ' : ''}daemon-reload && systemctl ${user ? '--user ' : ''}enable --now holdfast.service`)
        return 0
      }
      for (const args of [['daemon-reload'], ['enable', '--now', 'holdfast.service']]) {
        const r = systemctl(...args)
        if (!r.ok) throw new ConfigError(`the unit is written, but "systemctl ${user ? '--user ' : ''}${args.join(' ')}" failed: ${r.said || 'no systemd here?'}`)
      }
      ctx.out(`enabled and started holdfast.service${user ? ' (user service: "loginctl enable-linger" keeps it running after you log out)' : ''}`)
      ctx.out('scheduled and watch sessions need the passphrase: set backup.passphraseFile in HOME/node.json')
      return 0
    }
    if (sub === 'uninstall') {
      const r = systemctl('disable', '--now', 'holdfast.service')
      await rm(unitPath, { force: true })
      systemctl('daemon-reload')
      ctx.out(`removed ${unitPath}${r.ok ? '' : ` (systemctl disable said: ${r.said})`}`)
      return 0
    }
    throw new UsageError(`unknown service command "${String(sub)}": install, uninstall or print`)
  }
}

export const NODE_COMMANDS: Command[] = [daemon, peers, gui, service]
