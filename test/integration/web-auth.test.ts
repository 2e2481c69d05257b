/**
 * The dashboard beyond loopback (a real daemon on 0.0.0.0 with a GUI password, over HTTPS with its
 * self-signed certificate): the fingerprint `holdfast gui info` prints is the served certificate's;
 * nothing but the page answers without a sign-in; a wrong password is refused, and after five a minute
 * even the right one waits; the session cookie is HttpOnly, SameSite=Strict and Secure; a change needs the
 * CSRF token; the API key works without a cookie; a new password counts at once; and without a password
 * the daemon refuses to listen there.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { request, Agent } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { join } from 'node:path'
import { startDaemon, type RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { CLI } from '../../scripts/lib/cli-runner.js'
import { expectCode, hf, makeTempDir, removeDir } from './helpers.js'

const PASSWORD = 'dashboard password 1'

/** `holdfast gui password --stdin` with `password` piped in. */
async function setPassword (home: string, password: string): Promise<{ code: number, out: string }> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'gui', 'password', '--stdin', '--home', home], { env: { ...process.env, HOLDFAST_HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', d => { out += String(d) })
    child.stderr.on('data', d => { out += String(d) })
    child.on('error', reject)
    child.on('close', code => resolve({ code: code ?? -1, out }))
    child.stdin.end(`${password}\n`)
  })
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: any, fingerprint?: string }

describe('dashboard security beyond loopback (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let home: string
  let daemon: RunningDaemon | undefined
  let base: string
  // the certificate is self-signed: the test checks its fingerprint itself
  const agent = new Agent({ rejectUnauthorized: false, keepAlive: false })

  const call = async (path: string, options: { method?: string, headers?: Record<string, string>, body?: unknown, from?: string } = {}): Promise<Answer> => {
    return await new Promise((resolve, reject) => {
      const body = options.body != null ? JSON.stringify(options.body) : undefined
      const req = request(`${base}${path}`, {
        method: options.method ?? 'GET',
        agent,
        localAddress: options.from,
        headers: { ...(body != null ? { 'content-type': 'application/json' } : {}), ...options.headers }
      }, res => {
        const fingerprint = (res.socket as TLSSocket).getPeerCertificate?.()?.fingerprint256
        let text = ''
        res.on('data', d => { text += String(d) })
        res.on('end', () => {
          let parsed: unknown = text
          try { parsed = JSON.parse(text) } catch {}
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, fingerprint })
        })
      })
      req.once('error', reject)
      req.end(body)
    })
  }
  const login = async (password: string, from?: string): Promise<Answer> => await call('/api/v1/login', { method: 'POST', body: { password }, from })
  const start = async (): Promise<void> => {
    daemon = await startDaemon(home)
    base = (JSON.parse(await readFile(join(home, 'daemon.json'), 'utf8')) as { gui: string }).gui
  }

  before(async function () {
    dir = await makeTempDir('web-auth')
    home = join(dir, 'nas')
    expectCode(await hf(home, ['init', '--home', home, '--name', 'nas']), 0, 'init')
    await writeFile(join(home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '0.0.0.0:0' } }))
    const set = await setPassword(home, PASSWORD)
    assert.equal(set.code, 0, set.out)
    await start()
  })

  after(async function () {
    agent.destroy()
    await daemon?.stop()
    await removeDir(dir)
  })

  it('serves HTTPS with the certificate whose fingerprint holdfast gui info prints; the password is an scrypt hash in gui.json (0600)', async function () {
    assert.match(base, /^https:\/\/127\.0\.0\.1:\d+$/)
    const r = await hf(home, ['gui', 'info', '--json'])
    expectCode(r, 0, 'gui info')
    const info = JSON.parse(r.stdout) as { url: string, fingerprint: string, passwordSet: boolean }
    assert.equal(info.url, base)
    assert.equal(info.passwordSet, true)
    assert.match(info.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    const page = await call('/')
    assert.equal(page.status, 200, 'the page (with its sign-in form) for anyone')
    assert.equal(page.fingerprint, info.fingerprint)
    const text = await hf(home, ['gui', 'info'])
    assert.match(text.stdout, new RegExp(`certificate \\(SHA-256\\): +${info.fingerprint}`))
    for (const f of ['gui.json', 'gui-cert.pem', 'gui-key.pem']) assert.equal((await stat(join(home, f))).mode & 0o777, 0o600, f)
    const stored = JSON.parse(await readFile(join(home, 'gui.json'), 'utf8')) as { password: { scheme: string, N: number, salt: string, hash: string } }
    assert.equal(stored.password.scheme, 'scrypt')
    assert.ok(stored.password.N >= 2 ** 14)
    assert.ok(!JSON.stringify(stored).includes(PASSWORD))
  })

  it('without a session nothing answers but the page; a wrong password is refused; the right one gives a Secure, HttpOnly, SameSite=Strict cookie', async function () {
    for (const p of ['/api/v1/status', '/metrics', '/api/v1/openapi.json']) {
      const r = await call(p)
      assert.equal(r.status, 401, p)
      assert.equal(r.body.error.name, 'UnauthorizedError')
    }
    // the health check answers anyone, and says nothing but that
    const health = await call('/healthz')
    assert.equal(health.status, 200)
    assert.equal(health.body, 'ok\n')
    const session = await call('/api/v1/session')
    assert.equal(session.status, 401)
    assert.equal(session.body.passwordSet, true)
    const wrong = await login('not the password')
    assert.equal(wrong.status, 401)
    assert.equal(wrong.body.error.name, 'UnauthorizedError')
    const ok = await login(PASSWORD)
    assert.equal(ok.status, 200, JSON.stringify(ok.body))
    const setCookie = String(ok.headers['set-cookie'])
    for (const attr of [/HttpOnly/i, /SameSite=Strict/i, /Secure/i, /Path=\//]) assert.match(setCookie, attr)
    const cookie = setCookie.split(';')[0]
    const { csrf } = ok.body as { csrf: string }
    assert.equal((await call('/api/v1/status', { headers: { cookie } })).status, 200)
    assert.equal((await call('/metrics', { headers: { cookie } })).status, 200)
    assert.deepEqual((await call('/api/v1/session', { headers: { cookie } })).body, { authenticated: true, passwordSet: true, csrf })
    // a state change without the CSRF token is refused, with it done
    const noToken = await call('/api/v1/lock', { method: 'POST', body: {}, headers: { cookie } })
    assert.equal(noToken.status, 403)
    assert.equal(noToken.body.error.name, 'ForbiddenError')
    assert.equal((await call('/api/v1/lock', { method: 'POST', body: {}, headers: { cookie, 'x-csrf-token': 'forged' } })).status, 403)
    assert.equal((await call('/api/v1/lock', { method: 'POST', body: {}, headers: { cookie, 'x-csrf-token': csrf } })).status, 200)
    // signed out, the cookie opens nothing
    assert.equal((await call('/api/v1/logout', { method: 'POST', body: {}, headers: { cookie, 'x-csrf-token': csrf } })).status, 200)
    assert.equal((await call('/api/v1/status', { headers: { cookie } })).status, 401)
  })

  it('the API key works without a cookie, for the API and /metrics', async function () {
    const key = (await readFile(join(home, 'api.token'), 'utf8')).trim()
    assert.equal((await call('/api/v1/status', { headers: { authorization: `Bearer ${key}` } })).status, 200)
    assert.equal((await call('/metrics', { headers: { authorization: `Bearer ${key}` } })).status, 200)
    assert.equal((await call('/api/v1/lock', { method: 'POST', body: {}, headers: { authorization: `Bearer ${key}` } })).status, 200)
    assert.equal((await call('/metrics', { headers: { authorization: 'Bearer not-the-key' } })).status, 401)
  })

  it('after 5 wrong passwords a minute from one address the 6th attempt waits (429, Retry-After), the right password too; other addresses do not', async function () {
    const from = '127.0.0.3'
    for (let i = 0; i < 5; i++) assert.equal((await login(`wrong guess ${i}`, from)).status, 401, `attempt ${i + 1}`)
    const sixth = await login('wrong guess 6', from)
    assert.equal(sixth.status, 429)
    assert.equal(sixth.body.error.name, 'TooManyRequestsError')
    assert.ok(Number(sixth.headers['retry-after']) > 0 && Number(sixth.headers['retry-after']) <= 60, String(sixth.headers['retry-after']))
    assert.equal((await login(PASSWORD, from)).status, 429, 'the right password waits too')
    assert.equal((await login(PASSWORD)).status, 200, 'another address signs in')
  })

  it('a new password counts at once: sessions of the old one are over', async function () {
    const ok = await login(PASSWORD)
    const cookie = String(ok.headers['set-cookie']).split(';')[0]
    assert.equal((await call('/api/v1/status', { headers: { cookie } })).status, 200)
    const set = await setPassword(home, 'dashboard password 2')
    assert.equal(set.code, 0, set.out)
    assert.equal((await call('/api/v1/status', { headers: { cookie } })).status, 401)
    assert.equal((await login(PASSWORD)).status, 401)
    assert.equal((await login('dashboard password 2')).status, 200)
  })

  it('restarted, it keeps its certificate; with the password removed it refuses to listen on 0.0.0.0, and says why', async function () {
    const before = JSON.parse((await hf(home, ['gui', 'info', '--json'])).stdout).fingerprint as string
    await daemon!.stop()
    daemon = undefined
    await start()
    assert.equal((await call('/')).fingerprint, before, 'the same certificate')
    await daemon!.stop()
    daemon = undefined
    const removed = await hf(home, ['gui', 'password', '--remove'])
    expectCode(removed, 0, 'gui password --remove')
    await assert.rejects(startDaemon(home), /listens on 0\.0\.0\.0 only with a GUI password, and none is set[^]*holdfast gui password/)
  })
})
