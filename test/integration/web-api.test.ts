/**
 * The daemon's REST API and metrics over HTTP (real daemons on 127.0.0.1): every documented route
 * answers what its schema says, the OpenAPI document is valid, /metrics parses as Prometheus text with
 * the figures of a real backup, and requests from elsewhere (another Host, a change without the key, a
 * wrong key, a non-local listen address) are refused.
 */
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { Value } from 'typebox/value'
import type { TSchema } from 'typebox'
import { request } from 'node:http'
import { Validator } from '@seriousme/openapi-schema-validator'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { BackupSet, LogEntry, Overview, Peer, Session, Status } from '../../src/web/api-schemas.js'
import { API_SPEC } from '../../src/web/api-spec.js'
import { webRoutes, type WebViews } from '../../src/web/web-routes.js'
import { AUTH_ROUTES } from '../../src/web/web-auth.js'
import { expectCode, hf, makeTempDir, PASSPHRASE, pairWithHosts, removeDir, writeRandom } from './helpers.js'

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Array<{ name: string, type: string, metrics: Array<{ value: string, labels?: Record<string, string> }> }>

interface Info { gui?: string }

describe('REST API and metrics (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let owner: RunningDaemon
  const hosts: RunningDaemon[] = []
  let base: string
  let key: string
  let src: string

  before(async function () {
    dir = await makeTempDir('web-api')
    src = join(dir, 'src')
    await mkdir(src)
    await writeRandom(join(src, 'a.bin'), 300_000)
    const names = ['owner', 'host1', 'host2', 'host3']
    await Promise.all(names.map(async (name, i) => {
      const home = join(dir, name)
      expectCode(await hf(home, ['init', '--home', home, '--name', name, ...(i === 0 ? ['--data-shards', '2', '--parity-shards', '1', '--pack-size', '128KiB'] : [])]), 0, `init ${name}`)
      await writeFile(join(home, 'node.json'), JSON.stringify({
        listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' },
        ...(i === 0 ? { maintenance: { enabled: false }, backup: { sets: [{ name: 'docs', paths: [src] }] } } : {})
      }))
    }))
    owner = await startDaemon(join(dir, 'owner'), { HOLDFAST_PASSPHRASE: PASSPHRASE })
    hosts.push(...await Promise.all(names.slice(1).map(async n => await startDaemon(join(dir, n)))))
    await pairWithHosts(owner, hosts)
    const info = JSON.parse(await readFile(join(owner.home, 'daemon.json'), 'utf8')) as Info
    assert.match(info.gui ?? '', /^http:\/\/127\.0\.0\.1:\d+$/, 'daemon.json names the web address')
    base = info.gui!
    key = (await readFile(join(owner.home, 'api.token'), 'utf8')).trim()
  })

  after(async function () {
    await Promise.all([owner, ...hosts].filter(d => d != null).map(async d => await d.stop()))
    await removeDir(dir)
  })

  const get = async <T>(path: string, headers: Record<string, string> = {}): Promise<{ status: number, body: T }> => {
    const r = await fetch(`${base}${path}`, { headers })
    return { status: r.status, body: await r.json() as T }
  }
  const valid = (schema: TSchema, value: unknown, what: string): void => {
    const errors = [...Value.Errors(schema, value)].slice(0, 3).map(e => `${e.instancePath} ${e.message}`)
    assert.deepEqual(errors, [], `${what} does not match its schema`)
  }

  it('holdfast gui info names the address, the OpenAPI document and the metrics', async function () {
    const r = await hf(owner.home, ['gui', 'info', '--json'])
    expectCode(r, 0, 'gui info')
    const out = JSON.parse(r.stdout) as { url: string, openapi: string, metrics: string }
    assert.equal(out.url, base)
    assert.equal(out.openapi, `${base}/api/v1/openapi.json`)
    assert.equal(out.metrics, `${base}/metrics`)
  })

  it('the OpenAPI document is valid and documents every route; each answers what its schema says', async function () {
    const { status, body: doc } = await get<{ paths: Record<string, Record<string, unknown>> }>('/api/v1/openapi.json')
    assert.equal(status, 200)
    const validator = new Validator()
    const res = await validator.validate(doc as any)
    assert.equal(res.valid, true, JSON.stringify(res.errors)?.slice(0, 500))
    for (const p of ['/api/v1/overview', '/api/v1/peers', '/api/v1/sessions', '/api/v1/sets', '/api/v1/status', '/api/v1/access', '/api/v1/unlock', '/api/v1/log']) assert.ok(doc.paths[p] != null, `${p} documented`)
    // the daemon serves exactly the documented routes (the sign-in routes are web-auth.ts's own)
    const served = [...webRoutes({} as unknown as WebViews), ...AUTH_ROUTES].map(r => `${r.method} ${r.path}`).sort()
    assert.deepEqual(served, API_SPEC.map(r => `${r.method} ${r.path}`).sort())
    assert.deepEqual(Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map(m => `${m} ${p.slice('/api/v1'.length)}`)).sort(), served)
    const status1 = await get<Status>('/api/v1/status')
    valid(Status, status1.body, 'status')
    assert.equal(status1.body.peerId, owner.peerId)
    assert.equal(status1.body.name, 'owner')
    assert.equal(status1.body.peers, 3)
    const peers = await get<Peer[]>('/api/v1/peers')
    for (const p of peers.body) valid(Peer, p, 'peer')
    assert.deepEqual(peers.body.map(p => p.name).sort(), ['host1', 'host2', 'host3'])
    assert.ok(peers.body.every(p => p.online && p.via === 'direct' && p.quotaReceived === 1024 ** 3), JSON.stringify(peers.body))
  })

  it('pairing leaves no error in either side\'s log, and each host names its recovery kit to the owner', async function () {
    // The owner accepted each host's invite: a host (the inviter) trusts the owner a moment before the
    // owner trusts it, and its first word to the owner (naming its kit reader) could arrive in between.
    const told = async (h: RunningDaemon): Promise<boolean> => {
      const doc = JSON.parse(await readFile(join(h.home, 'device-grants.json'), 'utf8').catch(() => '{}')) as { told?: Record<string, string[]> }
      return Object.values(doc.told ?? {}).some(hosts => hosts.includes(owner.peerId))
    }
    const deadline = Date.now() + 60_000
    while (!(await Promise.all(hosts.map(told))).every(Boolean)) {
      assert.ok(Date.now() < deadline, 'every host has told the owner of its kit reader within 60 s')
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    for (const d of [owner, ...hosts]) {
      const gui = (JSON.parse(await readFile(join(d.home, 'daemon.json'), 'utf8')) as Info).gui!
      const log = await (await fetch(`${gui}/api/v1/log?level=error`)).json() as LogEntry[]
      assert.deepEqual(log.map(l => l.message), [], `${d.home}: no error logged`)
    }
  })

  it('after a backup of the set: sets, sessions and overview say it is protected; /metrics has its figures', async function () {
    const before = await get<Overview>('/api/v1/overview')
    valid(Overview, before.body, 'overview')
    assert.equal(before.body.level, 'danger')
    assert.match(before.body.warnings.map(w => w.message).join('\n'), /Set "docs" has never been backed up/)

    expectCode(await hf(owner.home, ['backup', '--set', 'docs']), 0, 'backup --set docs')
    const log = await get<LogEntry[]>('/api/v1/log?limit=50')
    for (const l of log.body) valid(LogEntry, l, 'log entry')
    assert.match(log.body.map(l => l.message).join('\n'), /command backup ended with exit code 0/)
    assert.match(log.body[log.body.length - 1].message, /^node \S+ started, listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    assert.equal((await get('/api/v1/log?level=loud')).status, 400)
    const sessions = await get<Session[]>('/api/v1/sessions?limit=5')
    for (const s of sessions.body) valid(Session, s, 'session')
    assert.equal(sessions.body[0].set, 'docs')
    assert.equal(sessions.body[0].status, 'ok')
    const sets = await get<BackupSet[]>('/api/v1/sets')
    for (const s of sets.body) valid(BackupSet, s, 'set')
    assert.equal(sets.body[0].lastSuccess, sessions.body[0].ended)
    const overview = await get<Overview>('/api/v1/overview')
    valid(Overview, overview.body, 'overview')
    assert.equal(overview.body.level, 'ok', JSON.stringify(overview.body.warnings))
    assert.match(overview.body.summary, /^All 1 set protected, last backup just now, every pack at 3\/3, 3 of 3 peers online$/)
    assert.deepEqual(overview.body.packs, { total: overview.body.packs!.total, full: overview.body.packs!.total, degraded: 0, critical: 0, n: 3 })
    assert.ok(overview.body.packs!.total >= 2, 'data and tree packs')
    assert.ok(overview.body.space.storedOnOthers > 300_000, `stored on others: ${overview.body.space.storedOnOthers}`)

    const r = await fetch(`${base}/metrics`)
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/)
    const families = new Map(parsePrometheus(await r.text()).map(f => [f.name, f]))
    const sample = (name: string, labels: Record<string, string>): number => {
      const f = families.get(name)
      assert.ok(f != null, `metric ${name}`)
      const m = f.metrics.find(x => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v))
      assert.ok(m != null, `${name}${JSON.stringify(labels)}`)
      return Number(m.value)
    }
    assert.equal(sample('holdfast_backup_last_success_timestamp_seconds', { set: 'docs' }), Date.parse(sessions.body[0].ended) / 1000)
    assert.equal(families.get('holdfast_backup_last_success_timestamp_seconds')!.type, 'GAUGE')
    assert.equal(families.get('holdfast_backup_failures_total')!.type, 'COUNTER')
    assert.equal(sample('holdfast_packs', { health: 'full' }), overview.body.packs!.total)
    assert.equal(sample('holdfast_packs', { health: 'degraded' }), 0)
    for (const h of ['host1', 'host2', 'host3']) {
      assert.equal(sample('holdfast_peer_up', { peer: h }), 1)
      assert.ok(sample('holdfast_stored_bytes', { peer: h }) > 0, `${h} keeps something for the owner`)
    }
  })

  it('refuses another Host (DNS rebinding), a change without the API key, a wrong key, a bad query', async function () {
    // fetch cannot set Host: a raw request, as a page of attacker.example resolved to 127.0.0.1 would send
    const rebinding = await new Promise<number>((resolve, reject) => {
      const req = request(`${base}/api/v1/status`, { headers: { host: 'attacker.example' } }, res => { res.resume(); resolve(res.statusCode ?? 0) })
      req.once('error', reject)
      req.end()
    })
    assert.equal(rebinding, 403)
    const post = await fetch(`${base}/api/v1/status`, { method: 'POST' })
    assert.equal(post.status, 401)
    const wrong = await get<{ error: { name: string } }>('/api/v1/status', { authorization: 'Bearer not-the-key' })
    assert.equal(wrong.status, 401)
    assert.equal(wrong.body.error.name, 'UnauthorizedError')
    assert.equal((await get('/api/v1/status', { authorization: `Bearer ${key}` })).status, 200)
    const bad = await get<{ error: { name: string, message: string } }>('/api/v1/sessions?limit=lots')
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.name, 'UsageError')
    assert.equal((await get('/api/v1/nothing')).status, 404)
  })

  it('a browser session changes things only with its CSRF token; the passphrase it unlocks with is checked', async function () {
    const s = await fetch(`${base}/api/v1/session`)
    const cookie = (s.headers.get('set-cookie') ?? '').split(';')[0]
    assert.match(s.headers.get('set-cookie') ?? '', /HttpOnly/i)
    assert.match(s.headers.get('set-cookie') ?? '', /SameSite=Strict/i)
    const { csrf } = await s.json() as { csrf: string }
    const post = async (path: string, body: unknown, headers: Record<string, string>): Promise<{ status: number, body: any }> => {
      const r = await fetch(`${base}/api/v1${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
      return { status: r.status, body: await r.json() }
    }
    const noToken = await post('/lock', {}, { cookie })
    assert.equal(noToken.status, 403)
    assert.equal(noToken.body.error.name, 'ForbiddenError')
    assert.equal((await post('/lock', {}, { cookie, 'x-csrf-token': 'forged' })).status, 403)
    assert.equal((await post('/lock', {}, { 'x-csrf-token': csrf })).status, 401, 'a token without its session cookie')
    const ok = await post('/lock', {}, { cookie, 'x-csrf-token': csrf })
    assert.equal(ok.status, 200)
    assert.equal(ok.body.state, 'configured', 'this daemon has $HOLDFAST_PASSPHRASE')
    const wrong = await post('/unlock', { passphrase: 'not the passphrase' }, { cookie, 'x-csrf-token': csrf })
    assert.equal(wrong.status, 403)
    assert.equal(wrong.body.error.name, 'WrongPassphraseError')
  })

  it('a daemon told to listen on a non-local address without a GUI password does not start, and says why', async function () {
    const home = join(dir, 'exposed')
    expectCode(await hf(home, ['init', '--home', home, '--name', 'exposed']), 0, 'init')
    await writeFile(join(home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '0.0.0.0:0' } }))
    await assert.rejects(startDaemon(home), /listens on 0\.0\.0\.0 only with a GUI password/)
  })
})
