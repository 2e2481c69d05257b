import assert from 'node:assert/strict'
import { Hono } from 'hono'
import { webAuth, type PasswordSource } from '../../src/web/web-auth.js'
import { hashPassword, verifyPassword, type PasswordHash } from '../../src/web/gui-password.js'
import { LoginLimiter } from '../../src/web/login-limiter.js'

const KEY = 'the-api-key'
const PASSWORD = 'a good password'

/** A password source whose hash a test sets and removes (as `holdfast gui password` does to gui.json). */
function source (): PasswordSource & { set: (h: PasswordHash | undefined) => void } {
  let hash: PasswordHash | undefined
  return {
    set: h => { hash = h },
    current: async () => hash,
    verify: async (pw) => hash != null && await verifyPassword(hash, pw)
  }
}

function app (init: { loopback: boolean, password: PasswordSource, secure?: boolean }): Hono {
  const a = new Hono()
  const dav = async (c: { req: { method: string } }): Promise<Response> => new Response(`dav ${c.req.method}`)
  webAuth(a, { apiKey: KEY, password: init.password, loopback: init.loopback, secure: init.secure ?? false, isLoopback: h => h === '127.0.0.1' || h === 'localhost', mounts: [{ prefix: '/dav', safeMethods: ['GET', 'HEAD', 'PROPFIND', 'OPTIONS'], handler: async () => new Response('') }], limiter: new LoginLimiter({ maxFailures: 3 }) })
  a.get('/', c => c.text('page'))
  a.get('/api/v1/status', c => c.json({ ok: true }))
  a.post('/api/v1/lock', c => c.json({ ok: true }))
  a.get('/metrics', c => c.text('metrics'))
  a.on(['GET', 'PROPFIND', 'PUT'], '/dav/*', dav)
  return a
}

describe('web/webAuth (the doors, in process)', () => {
  let hash: PasswordHash
  before(async () => { hash = await hashPassword(PASSWORD, { N: 1024, r: 8, p: 1 }) })

  const call = async (a: Hono, path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> =>
    await a.request(`http://127.0.0.1:8486${path}`, { ...init, headers: { host: '127.0.0.1:8486', ...init.headers } })
  const login = async (a: Hono, password: string, headers: Record<string, string> = {}): Promise<Response> =>
    await call(a, '/api/v1/login', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ password }) })
  const cookieOf = (r: Response): string => (r.headers.get('set-cookie') ?? '').split(';')[0]

  it('without a password on loopback: looks pass, changes need the session and its token, other Hosts are refused', async () => {
    const a = app({ loopback: true, password: source() })
    assert.equal((await call(a, '/api/v1/status')).status, 200)
    assert.equal((await call(a, '/api/v1/status', { headers: { host: 'evil.example' } })).status, 403)
    assert.equal((await call(a, '/api/v1/lock', { method: 'POST' })).status, 401)
    const s = await call(a, '/api/v1/session')
    const body = await s.json() as { authenticated: boolean, passwordSet: boolean, csrf: string }
    assert.deepEqual({ ...body, csrf: typeof body.csrf }, { authenticated: true, passwordSet: false, csrf: 'string' })
    assert.equal((await call(a, '/api/v1/lock', { method: 'POST', headers: { cookie: cookieOf(s) } })).status, 403)
    assert.equal((await call(a, '/api/v1/lock', { method: 'POST', headers: { cookie: cookieOf(s), 'x-csrf-token': body.csrf } })).status, 200)
    assert.equal((await login(a, PASSWORD)).status, 400, 'no password to sign in with')
  })

  it('with a password: every route but the page needs a sign-in or the key; the Host check steps aside', async () => {
    const pw = source()
    const a = app({ loopback: true, password: pw, secure: true })
    const before = await call(a, '/api/v1/session')
    pw.set(hash)
    assert.equal((await call(a, '/', { headers: { host: 'my-nas.lan:8486' } })).status, 200, 'the page (its login form) for anyone')
    for (const p of ['/api/v1/status', '/metrics', '/api/v1/nothing']) assert.equal((await call(a, p)).status, 401, p)
    assert.equal((await call(a, '/api/v1/status', { headers: { cookie: cookieOf(before) } })).status, 401, 'a session from before the password is over')
    const s = await call(a, '/api/v1/session')
    assert.equal(s.status, 401)
    assert.deepEqual(((await s.json()) as { passwordSet: boolean }).passwordSet, true)
    assert.equal((await login(a, 'wrong password')).status, 401)
    assert.equal((await login(a, PASSWORD, { origin: 'https://evil.example' })).status, 403, 'a sign-in from another site')
    const ok = await login(a, PASSWORD, { origin: 'http://127.0.0.1:8486' })
    assert.equal(ok.status, 200)
    const setCookie = ok.headers.get('set-cookie') ?? ''
    for (const attr of [/HttpOnly/i, /SameSite=Strict/i, /Secure/i, /Path=\//i]) assert.match(setCookie, attr)
    const { csrf } = await ok.json() as { csrf: string }
    const cookie = cookieOf(ok)
    assert.equal((await call(a, '/api/v1/status', { headers: { cookie, host: 'my-nas.lan:8486' } })).status, 200)
    assert.equal((await call(a, '/metrics', { headers: { cookie } })).status, 200)
    assert.equal((await call(a, '/api/v1/lock', { method: 'POST', headers: { cookie } })).status, 403)
    assert.equal((await call(a, '/api/v1/lock', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status, 200)
    assert.equal((await call(a, '/metrics', { headers: { authorization: `Bearer ${KEY}` } })).status, 200)
    assert.equal((await call(a, '/metrics', { headers: { authorization: 'Bearer nope' } })).status, 401)
    // sign out: the cookie no longer opens anything
    assert.equal((await call(a, '/api/v1/logout', { method: 'POST', headers: { cookie } })).status, 403, 'sign-out needs the token too')
    assert.equal((await call(a, '/api/v1/logout', { method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).status, 200)
    assert.equal((await call(a, '/api/v1/status', { headers: { cookie } })).status, 401)
  })

  it('WebDAV under a password: Basic with the GUI password or the API key, else 401 with a Basic challenge', async () => {
    const pw = source()
    pw.set(hash)
    const a = app({ loopback: false, password: pw })
    const basic = (user: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })
    const none = await call(a, '/dav/x', { method: 'PROPFIND' })
    assert.equal(none.status, 401)
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="Holdfast"/)
    const wrong = await call(a, '/dav/x', { method: 'PROPFIND', headers: basic('me', 'wrong password') })
    assert.equal(wrong.status, 401)
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic/)
    assert.equal(await (await call(a, '/dav/x', { method: 'PROPFIND', headers: basic('anyone', PASSWORD) })).text(), 'dav PROPFIND')
    assert.equal((await call(a, '/dav/x', { headers: basic('', KEY) })).status, 200)
    assert.equal((await call(a, '/api/v1/status', { headers: basic('me', PASSWORD) })).status, 401, 'Basic on the mounts only')
  })

  it('sign-ins are limited: after 3 failures (this limiter) even the right password waits, with Retry-After', async () => {
    const pw = source()
    pw.set(hash)
    const a = app({ loopback: false, password: pw })
    for (let i = 0; i < 3; i++) assert.equal((await login(a, `wrong ${i}`)).status, 401)
    const held = await login(a, PASSWORD)
    assert.equal(held.status, 429)
    assert.equal(((await held.json()) as { error: { name: string } }).error.name, 'TooManyRequestsError')
    assert.ok(Number(held.headers.get('retry-after')) > 50)
  })

  it('a listen beyond loopback without a password refuses everyone but the page', async () => {
    const a = app({ loopback: false, password: source() })
    assert.equal((await call(a, '/')).status, 200)
    assert.equal((await call(a, '/api/v1/status')).status, 401)
    assert.equal((await call(a, '/api/v1/session')).status, 401)
    assert.equal((await login(a, PASSWORD)).status, 400)
  })
})
