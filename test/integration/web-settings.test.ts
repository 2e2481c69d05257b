/**
 * Settings and pairing through the REST API, on real daemons (127.0.0.1): PUT /settings writes node.json
 * and the live limiter follows; a wrong value answers 400 with the very text a daemon started on such a
 * file prints, and leaves node.json byte for byte; SIGHUP reloads a node.json edited by hand, and a broken
 * one changes nothing while the daemon keeps serving; the test notification reaches a local SMTP server;
 * invite, accept and revoke through the API pair two daemons and part them.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Value } from 'typebox/value'
import type { TSchema } from 'typebox'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { Peer, type BackupSet } from '../../src/web/api-schemas.js'
import { Invite, NotificationTest, Settings, SettingsUpdate } from '../../src/web/settings-schemas.js'
import { expectCode, hf, makeTempDir, removeDir } from './helpers.js'
import { listenSmtp } from './smtp-server.js'

interface ErrorAnswer { error: { name: string, message: string } }

describe('settings and pairing through the REST API (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let a: RunningDaemon
  let b: RunningDaemon
  const base = new Map<RunningDaemon, string>()
  const keys = new Map<RunningDaemon, string>()
  const baseConfig = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' }, maintenance: { enabled: false } }

  before(async function () {
    dir = await makeTempDir('web-settings')
    await Promise.all(['ay', 'bee'].map(async name => {
      const home = join(dir, name)
      expectCode(await hf(home, ['init', '--home', home, '--name', name]), 0, `init ${name}`)
      await writeFile(join(home, 'node.json'), JSON.stringify(baseConfig, null, 2))
    }))
    ;[a, b] = await Promise.all([startDaemon(join(dir, 'ay')), startDaemon(join(dir, 'bee'))])
    for (const d of [a, b]) {
      base.set(d, (JSON.parse(await readFile(join(d.home, 'daemon.json'), 'utf8')) as { gui: string }).gui)
      keys.set(d, (await readFile(join(d.home, 'api.token'), 'utf8')).trim())
    }
  })

  after(async function () {
    await Promise.all([a, b].filter(d => d != null).map(async d => await d.stop()))
    await removeDir(dir)
  })

  const call = async <T>(d: RunningDaemon, method: string, path: string, body?: unknown): Promise<{ status: number, body: T }> => {
    const r = await fetch(`${base.get(d)!}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${keys.get(d)!}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : method !== 'GET' ? { body: '{}' } : {})
    })
    return { status: r.status, body: await r.json() as T }
  }
  const valid = (schema: TSchema, value: unknown, what: string): void => {
    const errors = [...Value.Errors(schema, value)].slice(0, 3).map(e => `${e.instancePath} ${e.message}`)
    assert.deepEqual(errors, [], `${what} does not match its schema`)
  }
  const waitFor = async (what: string, test: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs
    while (!await test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  it('PUT /settings with a bandwidth limit writes node.json and the live limiter applies it', async function () {
    const before = await call<Settings>(a, 'GET', '/settings')
    assert.equal(before.status, 200)
    valid(Settings, before.body, 'settings')
    assert.deepEqual(before.body.bandwidth.active, { upload: 0, download: 0 })
    const put = await call<SettingsUpdate>(a, 'PUT', '/settings', { bandwidth: { upload: '512KiB', download: 2097152 } })
    assert.equal(put.status, 200, JSON.stringify(put.body))
    valid(SettingsUpdate, put.body, 'settings update')
    assert.deepEqual(put.body.appliedNow, ['bandwidth'])
    assert.deepEqual(put.body.afterRestart, [])
    const file = JSON.parse(await readFile(join(a.home, 'node.json'), 'utf8'))
    assert.deepEqual(file.bandwidth, { upload: '512KiB', download: 2097152 })
    assert.deepEqual(file.listen, baseConfig.listen, 'the rest of node.json is kept')
    const after = await call<Settings>(a, 'GET', '/settings')
    assert.equal(after.body.bandwidth.upload, 524288)
    assert.deepEqual(after.body.bandwidth.active, { upload: 524288, download: 2097152 }, 'the limiter the transfers use')
    await waitFor('the daemon\'s reload line', () => /holdfast daemon: node\.json reloaded; applied now: bandwidth\n/.test(a.output()))
    const repair = await call<SettingsUpdate>(a, 'PUT', '/settings', { maintenance: { repairThreshold: 2, graceSeconds: 3600 } })
    assert.equal(repair.status, 200, JSON.stringify(repair.body))
    assert.deepEqual(repair.body.appliedNow, ['maintenance'])
    assert.equal(repair.body.settings.maintenance.repairThreshold, 2)
    assert.equal(repair.body.settings.maintenance.enabled, false, 'the keys not given are kept')
  })

  it('an invalid value answers 400 with the text a daemon started on such a node.json prints; node.json is left byte for byte', async function () {
    const path = join(a.home, 'node.json')
    const bytesBefore = await readFile(path)
    const put = await call<ErrorAnswer>(a, 'PUT', '/settings', { retention: { daily: -5 }, bandwidth: { upload: 'lots' } })
    assert.equal(put.status, 400)
    assert.equal(put.body.error.name, 'ConfigError')
    assert.deepEqual(await readFile(path), bytesBefore, 'node.json unchanged')
    // the same file, as a daemon would read it at start
    const home = join(dir, 'broken')
    expectCode(await hf(home, ['init', '--home', home, '--name', 'broken']), 0, 'init broken')
    const raw = JSON.parse(bytesBefore.toString())
    await writeFile(join(home, 'node.json'), JSON.stringify({ ...raw, retention: { ...raw.retention, daily: -5 }, bandwidth: { ...raw.bandwidth, upload: 'lots' } }))
    const started = await hf(home, ['daemon', '--home', home])
    expectCode(started, 2, 'daemon on the broken node.json')
    const printed = started.stderr.trim().replace(/^holdfast: /, '').replaceAll(home, '<home>')
    assert.equal(put.body.error.message.replaceAll(a.home, '<home>'), printed)
    assert.match(printed, /^<home>\/node\.json: /)
    const still = await call<Settings>(a, 'GET', '/settings')
    assert.equal(still.body.retention.daily, 0)
    assert.equal(still.body.bandwidth.upload, 524288)
    // a section that is not one, or not an object
    const unknown = await call<ErrorAnswer>(a, 'PUT', '/settings', { listen: [] })
    assert.equal(unknown.status, 400)
    assert.equal(unknown.body.error.name, 'UsageError')
  })

  it('SIGHUP reloads a node.json edited by hand: retention and a new backup set show at once; a start-only key is reported', async function () {
    const path = join(a.home, 'node.json')
    const raw = JSON.parse(await readFile(path, 'utf8'))
    await writeFile(path, JSON.stringify({ ...raw, mdns: true, retention: { daily: 7, weekly: 4 }, backup: { sets: [{ name: 'docs', paths: [dir], schedule: '0 3 * * *' }] } }, null, 2))
    const lines = a.output().split('\n').length
    a.process.kill('SIGHUP')
    await waitFor('the reload line', () => a.output().split('\n').slice(lines - 1).some(l => l.includes('node.json reloaded')))
    assert.match(a.output(), /holdfast daemon: node\.json reloaded; applied now: backup\.sets, retention; after a restart: mdns/)
    const s = await call<Settings>(a, 'GET', '/settings')
    assert.equal(s.body.retention.daily, 7)
    assert.equal(s.body.retention.weekly, 4)
    assert.deepEqual(s.body.afterRestart, ['mdns'])
    const sets = await call<BackupSet[]>(a, 'GET', '/sets')
    assert.deepEqual(sets.body.map(x => x.name), ['docs'])
    assert.ok(sets.body[0].nextRun != null, 'the new set is scheduled')
  })

  it('a broken node.json and SIGHUP: the old configuration is kept whole and the daemon keeps serving', async function () {
    const path = join(a.home, 'node.json')
    const good = await readFile(path)
    await writeFile(path, '{ "retention": { "daily": 1 }, ')
    try {
      const lines = a.output().split('\n').length
      a.process.kill('SIGHUP')
      await waitFor('the refusal', () => a.output().split('\n').slice(lines - 1).some(l => l.includes('not reloaded')))
      assert.match(a.output(), /holdfast daemon: node\.json not reloaded, the running configuration is kept: .*node\.json is not valid JSON/)
      const s = await call<Settings>(a, 'GET', '/settings')
      assert.equal(s.status, 200)
      assert.equal(s.body.retention.daily, 7)
      assert.equal(s.body.bandwidth.upload, 524288)
      assert.equal((await call<BackupSet[]>(a, 'GET', '/sets')).body.length, 1)
      assert.equal(a.process.exitCode, null, 'still running')
    } finally {
      await writeFile(path, good)
    }
  })

  it('POST /settings/notifications/test sends a mail through the configured SMTP server, or says why not', async function () {
    const none = await call<NotificationTest>(b, 'POST', '/settings/notifications/test')
    assert.equal(none.status, 200)
    valid(NotificationTest, none.body, 'notification test')
    assert.equal(none.body.ok, false)
    assert.match(none.body.message, /no notification channel is configured/)
    const smtp = await listenSmtp({})
    try {
      const put = await call<SettingsUpdate>(b, 'PUT', '/settings', { notifications: { when: 'always', smtp: { host: '127.0.0.1', port: smtp.port, from: 'holdfast@example.org', to: ['owner@example.org'] } } })
      assert.equal(put.status, 200, JSON.stringify(put.body))
      assert.deepEqual(put.body.appliedNow, ['backup.notify'])
      assert.equal(put.body.settings.notifications.smtp.passwordSet, false)
      const test = await call<NotificationTest>(b, 'POST', '/settings/notifications/test')
      assert.equal(test.body.ok, true, test.body.message)
      assert.equal(smtp.mails.length, 1)
      assert.deepEqual(smtp.mails[0].to, ['owner@example.org'])
      assert.match(smtp.mails[0].data, /Subject: Holdfast test notification from bee/)
      const file = JSON.parse(await readFile(join(b.home, 'node.json'), 'utf8'))
      assert.equal(file.backup.notify.smtp.port, smtp.port)
    } finally {
      smtp.close()
    }
    const hook = await call<SettingsUpdate>(b, 'PUT', '/settings', { notifications: { webhook: 'https://hooks.example.org/secret-token-123' } })
    assert.deepEqual(hook.body.settings.notifications.webhook, { set: true, origin: 'https://hooks.example.org' })
    assert.doesNotMatch(JSON.stringify((await call<Settings>(b, 'GET', '/settings')).body), /secret-token/, 'the webhook\'s token is not sent back')
  })

  it('invite on one daemon and accept on the other pair them (both list each other); revoke parts them', async function () {
    const invite = await call<Invite>(a, 'POST', '/peers/invite', { quota: '1GiB', name: 'bee here', expirySeconds: 600 })
    assert.equal(invite.status, 200, JSON.stringify(invite.body))
    valid(Invite, invite.body, 'invite')
    const expiresIn = Date.parse(invite.body.expires) - Date.now()
    assert.ok(expiresIn > 590_000 && expiresIn <= 600_000, `expires in ${expiresIn} ms`)
    const bad = await call<ErrorAnswer>(b, 'POST', '/peers/accept', { code: invite.body.code, quota: 'plenty' })
    assert.equal(bad.status, 400)
    const accepted = await call<Peer>(b, 'POST', '/peers/accept', { code: invite.body.code, quota: '2GiB', name: 'ay there' })
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body))
    valid(Peer, accepted.body, 'peer')
    assert.equal(accepted.body.peerId, a.peerId)
    assert.equal(accepted.body.name, 'ay there')
    assert.equal(accepted.body.quotaGranted, 2 * 1024 ** 3)
    assert.equal(accepted.body.quotaReceived, 1024 ** 3)
    const onA = (await call<Peer[]>(a, 'GET', '/peers')).body
    assert.deepEqual(onA.map(p => [p.peerId, p.name, p.revoked]), [[b.peerId, 'bee here', false]])
    const again = await call<ErrorAnswer>(b, 'POST', '/peers/accept', { code: invite.body.code, quota: '1GiB' })
    assert.equal(again.status, 400, 'a used invite')
    assert.equal(again.body.error.name, 'PairingError')

    const revoked = await call<Peer>(a, 'POST', `/peers/${b.peerId}/revoke`)
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body))
    assert.equal(revoked.body.revoked, true)
    assert.equal((await call<Peer[]>(a, 'GET', '/peers')).body[0].revoked, true)
    const trust = JSON.parse(await readFile(join(a.home, 'trust.json'), 'utf8'))
    assert.equal(JSON.stringify(trust).includes('"revoked":true'), true, 'trust.json records the revocation')
    const unknown = await call<ErrorAnswer>(a, 'POST', '/peers/12D3KooWNotAPeer/revoke')
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.error.name, 'UnknownPeerError')
  })
})
