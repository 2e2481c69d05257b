/**
 * holdfast service: the hardened systemd unit written for a user service, printed for a system one,
 * checked by `systemd-analyze verify` where systemd is installed, and removed again.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { expectCode, hf, makeTempDir, removeDir } from './helpers.js'
import { systemdUnit } from '../../src/service/systemd-unit.js'

const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find(p => existsSync(p))

/** systemd-analyze verify on a unit file: its complaints, or undefined when systemd is not installed. */
function verify (path: string): { status: number | null, said: string } | undefined {
  if (analyze == null) return undefined
  const r = spawnSync(analyze, ['verify', path], { encoding: 'utf8' })
  return { status: r.status, said: `${r.stdout}${r.stderr}` }
}

describe('holdfast service (integration)', function () {
  this.timeout(60_000)
  let dir: string
  before(async function () { dir = await makeTempDir('service') })
  after(async function () { await removeDir(dir) })

  it('install --user writes a hardened unit that systemd accepts; uninstall removes it', async function () {
    const home = join(dir, 'home with space')
    const xdg = join(dir, 'config')
    const r = await hf(home, ['service', 'install', '--user', '--write-only'], { XDG_CONFIG_HOME: xdg })
    expectCode(r, 0, 'service install')
    const path = join(xdg, 'systemd', 'user', 'holdfast.service')
    const unit = await readFile(path, 'utf8')
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\S+/dist/src/cli/main\\.js daemon --home "${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"$`, 'm'))
    for (const line of ['NoNewPrivileges=yes', 'PrivateTmp=yes', 'ProtectSystem=full', `ReadWritePaths="${home}"`, 'UMask=0077', 'Restart=on-failure', 'WantedBy=default.target']) {
      assert.ok(unit.split('\n').includes(line), `the unit has ${line}:\n${unit}`)
    }
    assert.doesNotMatch(unit, /^User=/m, 'a user unit names no user')
    const v = verify(path)
    if (v != null) assert.equal(v.status, 0, v.said)
    const u = await hf(home, ['service', 'uninstall', '--user'], { XDG_CONFIG_HOME: xdg })
    expectCode(u, 0, 'service uninstall')
    assert.equal(existsSync(path), false)
  })

  it('a system unit with --strict: read-only everywhere but the home and --writable, run as the given user', async function () {
    const home = join(dir, 'nas-home')
    const restoreTo = join(dir, 'restores')
    const r = await hf(home, ['service', 'print', '--strict', '--writable', restoreTo, '--as', 'backup'])
    expectCode(r, 0, 'service print')
    const lines = r.stdout.split('\n')
    for (const line of ['ProtectSystem=strict', `ReadWritePaths=${home} ${restoreTo}`, 'User=backup', 'WantedBy=multi-user.target']) assert.ok(lines.includes(line), `${line} in:\n${r.stdout}`)
    await mkdir(join(dir, 'units'), { recursive: true })
    const path = join(dir, 'units', 'holdfast.service')
    await writeFile(path, r.stdout)
    const v = verify(path)
    if (v != null) assert.equal(v.status, 0, v.said)
  })

  it('systemd-analyze would catch a broken unit (the check above can fail), and paths that are not absolute are refused', async function () {
    if (analyze != null) {
      const bad = join(dir, 'units', 'broken.service')
      await writeFile(bad, '[Service]\nExecStart=/nonexistent/holdfast daemon\n')
      assert.notEqual(verify(bad)!.status, 0)
    }
    assert.throws(() => systemdUnit({ node: 'node', cli: '/x/main.js', home: '/h', user: true }), /absolute paths/)
    assert.throws(() => systemdUnit({ node: '/usr/bin/node', cli: '/x/main.js', home: '/h\nExecStartPre=/bin/sh', user: true }), /absolute paths on one line/)
    expectCode(await hf(join(dir, 'x'), ['service', 'start']), 2, 'unknown subcommand')
  })
})
