/**
 * The systemd unit that runs a node's daemon as a service (pure: the text from the paths). Hardened as
 * far as a backup tool can be: no new privileges, a private /tmp, the kernel and control groups out of
 * reach, files created 0600, and the operating system read-only (`ProtectSystem=full`: /usr, /boot and
 * /etc). With `strict`, every path is read-only except the home and the `writable` ones: backups read
 * everything, restores run by the daemon may write only there.
 */
export interface UnitOptions {
  /** The node binary and the CLI's entry point. */
  node: string
  cli: string
  home: string
  /** A user unit (systemctl --user) rather than a system one. */
  user: boolean
  /** System units: the account the daemon runs as. */
  runAs?: string
  strict?: boolean
  /** With strict: more paths the daemon may write (restore targets). */
  writable?: string[]
}

/** systemd unit file quoting: a value with spaces or specials in double quotes, escaped. */
function quote (s: string): string {
  if (/^[A-Za-z0-9_./:@+=-]+$/.test(s)) return s
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`
}

export function systemdUnit (o: UnitOptions): string {
  for (const p of [o.node, o.cli, o.home, ...(o.writable ?? [])]) {
    if (!p.startsWith('/') || /[\n\r]/.test(p)) throw new Error(`a unit needs absolute paths on one line: ${JSON.stringify(p)}`)
  }
  const lines = [
    '# Written by holdfast service install; holdfast service uninstall removes it.',
    '[Unit]',
    `Description=Holdfast backup node (${o.home.replace(/%/g, '%%')})`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${quote(o.node)} ${quote(o.cli)} daemon --home ${quote(o.home)}`,
    // systemctl reload: the daemon reads node.json again (SIGHUP)
    'ExecReload=/bin/kill -HUP $MAINPID',
    `Environment=${quote(`HOLDFAST_HOME=${o.home}`)}`,
    ...(o.user ? [] : o.runAs != null ? [`User=${o.runAs}`] : []),
    'Restart=on-failure',
    'RestartSec=10',
    'TimeoutStopSec=60',
    'UMask=0077',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    `ProtectSystem=${o.strict === true ? 'strict' : 'full'}`,
    `ReadWritePaths=${[o.home, ...(o.strict === true ? o.writable ?? [] : [])].map(quote).join(' ')}`,
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectControlGroups=yes',
    'RestrictSUIDSGID=yes',
    'RestrictRealtime=yes',
    'LockPersonality=yes',
    'SystemCallArchitectures=native',
    '',
    '[Install]',
    `WantedBy=${o.user ? 'default.target' : 'multi-user.target'}`,
    ''
  ]
  return lines.join('\n')
}
