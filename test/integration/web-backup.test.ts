/**
 * The Backup page's API against real daemons on 127.0.0.1 (an owner and 3 hosts): "Back up now" runs a
 * session whose server-sent events reach 100% and end ok, a second one of the set is refused while it
 * runs, a cancelled session ends cancelled with no snapshot, sets are added, changed and removed in
 * node.json (a bad cron refused with the config's text, node.json untouched), the set's healthchecks
 * pings arrive in order, the file-tree picker lists a directory, and a daemon with no passphrase answers
 * 423 until it is unlocked.
 */
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Value } from 'typebox/value'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { RunProgress, RunEvent, DirListing, SetConfig } from '../../src/web/backup-schemas.js'
import { Session } from '../../src/web/api-schemas.js'
import { expectCode, hf, makeTempDir, PASSPHRASE, pairWithHosts, removeDir, snapshotsJson, writeRandom } from './helpers.js'

type Event = RunEvent

/** Reads a server-sent event stream into `events` until `signal` aborts. */
function listen (url: string, events: Event[], signal: AbortSignal): Promise<void> {
  return (async () => {
    const r = await fetch(url, { signal, headers: { accept: 'text/event-stream' } })
    assert.equal(r.status, 200)
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/)
    const decoder = new TextDecoder()
    let buffer = ''
    try {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true })
        let cut: number
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          const data = block.split('\n').filter(l => l.startsWith('data: ')).map(l => l.slice(6)).join('\n')
          if (data !== '') events.push(JSON.parse(data) as Event)
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err
    }
  })()
}

async function until<T> (what: string, check: () => T | undefined | false, timeoutMs = 120_000, state?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v != null && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${state != null ? `; seen: ${state()}` : ''}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('Backup page API: back up now, live progress, cancel, set edits, pings (integration)', function () {
  this.timeout(300_000)
  let dir: string
  let owner: RunningDaemon
  const hosts: RunningDaemon[] = []
  let base: string
  let key: string
  let docs: string
  let big: string
  let pings: Server
  const pinged: string[] = []
  let pingBase: string
  const stream = new AbortController()
  const events: Event[] = []
  let reading: Promise<void> | undefined

  const guiOf = async (home: string): Promise<string> => (JSON.parse(await readFile(join(home, 'daemon.json'), 'utf8')) as { gui: string }).gui
  const call = async <T = any>(method: string, path: string, body?: unknown): Promise<{ status: number, body: T }> => {
    const r = await fetch(`${base}/api/v1${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(method !== 'GET' ? { body: JSON.stringify(body ?? {}) } : {}) })
    return { status: r.status, body: await r.json() as T }
  }
  const endOf = async (id: string, timeoutMs?: number): Promise<Extract<Event, { type: 'run:end' }>> =>
    await until(`the end of run ${id}`, () => events.find((e): e is Extract<Event, { type: 'run:end' }> => e.type === 'run:end' && e.run.id === id), timeoutMs)

  before(async function () {
    dir = await makeTempDir('web-backup')
    docs = join(dir, 'docs')
    big = join(dir, 'big')
    await mkdir(docs)
    await mkdir(big)
    for (let i = 0; i < 5; i++) await writeRandom(join(docs, `f${i}.bin`), 100_000)
    for (let i = 0; i < 16; i++) await writeRandom(join(big, `b${i}.bin`), 1024 * 1024)
    pings = createServer((req, res) => {
      let body = ''
      req.on('data', d => { body += String(d) })
      req.on('end', () => { pinged.push(`${req.url ?? ''}${body !== '' ? ` ${body}` : ''}`); res.end('OK') })
    })
    await new Promise<void>(resolve => pings.listen(0, '127.0.0.1', resolve))
    pingBase = `http://127.0.0.1:${(pings.address() as { port: number }).port}`
    const names = ['owner', 'host1', 'host2', 'host3']
    await Promise.all(names.map(async (name, i) => {
      const home = join(dir, name)
      expectCode(await hf(home, ['init', '--home', home, '--name', name, ...(i === 0 ? ['--data-shards', '2', '--parity-shards', '1', '--pack-size', '256KiB'] : [])]), 0, `init ${name}`)
      await writeFile(join(home, 'node.json'), JSON.stringify({
        listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' },
        ...(i === 0
          ? {
              maintenance: { enabled: false },
              // slow uploads: the big set is still running when it is cancelled
              bandwidth: { upload: '512KiB' },
              backup: {
                sets: [
                  { name: 'docs', paths: [docs], ping: `${pingBase}/docs` },
                  { name: 'big', paths: [big] },
                  { name: 'broken', paths: [join(dir, 'gone')], ping: `${pingBase}/broken` }
                ]
              }
            }
          : {})
      }, null, 2))
    }))
    owner = await startDaemon(join(dir, 'owner'), { HOLDFAST_PASSPHRASE: PASSPHRASE })
    hosts.push(...await Promise.all(names.slice(1).map(async n => await startDaemon(join(dir, n)))))
    await pairWithHosts(owner, hosts)
    base = await guiOf(owner.home)
    key = (await readFile(join(owner.home, 'api.token'), 'utf8')).trim()
    reading = listen(`${base}/api/v1/events`, events, stream.signal)
  })

  after(async function () {
    stream.abort()
    await reading?.catch(() => {})
    await Promise.all([owner, ...hosts].filter(d => d != null).map(async d => await d.stop()))
    pings?.closeAllConnections()
    await new Promise(resolve => pings?.close(resolve) ?? resolve(undefined))
    await removeDir(dir)
  })

  it('"Back up now": a run whose events reach 100% and end ok, a second one refused meanwhile; the set pings start then success', async function () {
    const started = await call<{ id: string }>('POST', '/sets/docs/backup')
    assert.equal(started.status, 200, JSON.stringify(started.body))
    const { id } = started.body
    const again = await call<{ error: { name: string, message: string } }>('POST', '/sets/docs/backup')
    assert.equal(again.status, 409)
    assert.equal(again.body.error.name, 'BusyError')
    assert.match(again.body.error.message, /a manual session of set docs is under way/)
    const runs = await call<RunProgress[]>('GET', '/runs')
    assert.ok(runs.body.some(r => r.id === id && r.set === 'docs' && r.trigger === 'manual'), JSON.stringify(runs.body))
    for (const r of runs.body) assert.ok(Value.Check(RunProgress, r), JSON.stringify(r))
    const end = await endOf(id)
    assert.equal(end.session.status, 'ok', JSON.stringify(end))
    assert.equal(end.session.id, id)
    assert.equal(end.run.percent, 100)
    const mine = events.filter(e => e.run.id === id)
    for (const e of mine) assert.ok(Value.Check(RunEvent, e), JSON.stringify(e))
    assert.ok(mine.some(e => e.type === 'run:progress' && e.run.phase === 'backing up'), 'a backing-up event')
    const last = mine.filter(e => e.type === 'run:progress').at(-1)!
    assert.equal(last.run.filesTotal, 5)
    assert.equal(last.run.bytesTotal, 500_000)
    const sessions = await call<Session[]>('GET', '/sessions?set=docs')
    assert.equal(sessions.body[0].id, id)
    assert.equal(sessions.body[0].status, 'ok')
    assert.equal(sessions.body[0].trigger, 'manual')
    assert.deepEqual((await call<RunProgress[]>('GET', '/runs')).body.filter(r => r.id === id), [])
    await until('the success ping', () => pinged.includes('/docs'), 15_000)
    assert.deepEqual(pinged.filter(p => p.startsWith('/docs')), ['/docs/start', '/docs'])
  })

  it('a failing session pings URL/fail with its reason; an unknown set is 404', async function () {
    const { body: { id } } = await call<{ id: string }>('POST', '/sets/broken/backup')
    const end = await endOf(id)
    assert.equal(end.session.status, 'failed')
    assert.match(end.session.reason ?? '', /SourceNotFoundError: nothing to back up/)
    await until('the fail ping', () => pinged.some(p => p.startsWith('/broken/fail')), 15_000)
    assert.deepEqual(pinged.filter(p => p.startsWith('/broken')).map(p => p.split(' ')[0]), ['/broken/start', '/broken/fail'])
    assert.match(pinged.find(p => p.startsWith('/broken/fail'))!, /SourceNotFoundError: nothing to back up at/)
    const none = await call('POST', '/sets/nothing/backup')
    assert.equal(none.status, 404)
    assert.equal(none.body.error.name, 'NotFoundError')
  })

  it('cancel: the big set\'s session ends cancelled, and no snapshot of it is listed', async function () {
    const started = await call<{ id: string }>('POST', '/sets/big/backup')
    assert.equal(started.status, 200, JSON.stringify(started.body))
    const { id } = started.body
    const seen = (): string => JSON.stringify(events.filter(e => e.run.id === id).map(e => [e.type, e.run.phase, e.run.filesDone, e.run.bytesDone, e.type === 'run:end' ? e.session : undefined]))
    // read under way or done, the packs still going out at 512 KiB/s (16 MiB may be read before the first throttled event)
    await until('the big set reading', () => events.find(e => e.type === 'run:progress' && e.run.id === id && (e.run.phase === 'backing up' || e.run.phase === 'uploading') && e.run.bytesDone > 0), 120_000, seen)
    assert.equal(events.find(e => e.type === 'run:end' && e.run.id === id), undefined, `still running: ${seen()}`)
    // set edits wait while a session runs
    const busy = await call('PUT', '/sets/docs', { watch: true })
    assert.equal(busy.status, 409)
    assert.match(busy.body.error.message, /a session of set big is under way/)
    const cancelled = await call<RunProgress>('POST', `/runs/${id}/cancel`)
    assert.equal(cancelled.status, 200)
    assert.equal(cancelled.body.cancelling, true)
    const end = await endOf(id, 60_000)
    assert.equal(end.session.status, 'failed')
    assert.match(end.session.reason ?? '', /^cancelled \(asked from the dashboard\)$/)
    assert.equal(end.session.snapshot, undefined)
    const session = (await call<Session[]>('GET', '/sessions?set=big')).body[0]
    assert.equal(session.id, id)
    assert.equal(session.status, 'failed')
    assert.equal(session.reason, 'cancelled (asked from the dashboard)')
    const snapshots = await snapshotsJson(owner.home)
    assert.deepEqual(snapshots.filter(s => s.paths.includes(big)), [], 'no snapshot of the cancelled set')
    assert.equal(snapshots.filter(s => s.paths.includes(docs)).length, 1)
    assert.equal((await call('POST', '/runs/nope/cancel')).status, 404)
  })

  it('sets are added, changed and removed in node.json; a bad cron is refused with the config\'s text and node.json is untouched', async function () {
    const path = join(owner.home, 'node.json')
    const added = await call<SetConfig>('POST', '/sets', { name: 'extra', paths: [docs], exclude: ['*.tmp'], schedule: '0 3 * * *' })
    assert.equal(added.status, 200, JSON.stringify(added.body))
    assert.deepEqual(added.body, { name: 'extra', paths: [docs], exclude: ['*.tmp'], schedule: '0 3 * * *', watch: false, minAgeSeconds: 60, rescanSeconds: 3600, ping: '' })
    let written = JSON.parse(await readFile(path, 'utf8'))
    assert.deepEqual(written.backup.sets.map((s: { name: string }) => s.name), ['docs', 'big', 'broken', 'extra'])
    assert.equal(written.bandwidth.upload, '512KiB', 'the rest of node.json as it was')
    const sets = await call<Array<{ name: string, nextRun: string | null, exclude?: string[] }>>('GET', '/sets')
    const extra = sets.body.find(s => s.name === 'extra')!
    assert.ok(extra.nextRun != null, 'the scheduler took the new set')
    assert.deepEqual(extra.exclude, ['*.tmp'])

    const before = await readFile(path, 'utf8')
    const bad = await call('PUT', '/sets/extra', { schedule: '61 * * * *' })
    assert.equal(bad.status, 400)
    assert.equal(bad.body.error.name, 'ConfigError')
    assert.match(bad.body.error.message, /node\.json: backup\.sets\[3\]\.schedule: /)
    assert.equal(await readFile(path, 'utf8'), before, 'node.json unchanged')

    const changed = await call<SetConfig>('PUT', '/sets/extra', { schedule: '*/30 * * * *', watch: true, exclude: [] })
    assert.equal(changed.status, 200, JSON.stringify(changed.body))
    written = JSON.parse(await readFile(path, 'utf8'))
    assert.deepEqual(written.backup.sets[3], { name: 'extra', paths: [docs], exclude: [], schedule: '*/30 * * * *', watch: true })
    const dup = await call('POST', '/sets', { name: 'docs', paths: [docs] })
    assert.equal(dup.status, 400)
    assert.match(dup.body.error.message, /a second set named "docs"/)
    const removed = await call('DELETE', '/sets/extra')
    assert.deepEqual(removed.body, { removed: 'extra' })
    written = JSON.parse(await readFile(path, 'utf8'))
    assert.deepEqual(written.backup.sets.map((s: { name: string }) => s.name), ['docs', 'big', 'broken'])
    assert.equal((await call('DELETE', '/sets/extra')).status, 404)
    assert.ok(!(await call<Array<{ name: string }>>('GET', '/sets')).body.some(s => s.name === 'extra'))
  })

  it('the file-tree picker lists a local directory', async function () {
    const r = await call<DirListing>('GET', `/fs?path=${encodeURIComponent(dir)}`)
    assert.equal(r.status, 200)
    assert.ok(Value.Check(DirListing, r.body))
    assert.deepEqual(r.body.entries.filter(e => e.name === 'docs' || e.name === 'big'), [{ name: 'big', type: 'dir' }, { name: 'docs', type: 'dir' }])
    assert.equal((await call('GET', `/fs?path=${encodeURIComponent(join(dir, 'gone'))}`)).status, 404)
    assert.equal((await call('GET', '/fs?path=relative')).status, 400)
  })

  it('a daemon with no passphrase answers 423 to "Back up now" until it is unlocked', async function () {
    stream.abort()
    await reading
    await owner.stop()
    owner = await startDaemon(join(dir, 'owner'), { HOLDFAST_PASSPHRASE: '' })
    base = await guiOf(owner.home)
    key = (await readFile(join(owner.home, 'api.token'), 'utf8')).trim() // a new key each start
    const locked = await call('POST', '/sets/docs/backup')
    assert.equal(locked.status, 423)
    assert.equal(locked.body.error.name, 'PassphraseNeededError')
    assert.equal((await call('POST', '/unlock', { passphrase: PASSPHRASE })).status, 200)
    const more = new AbortController()
    const seen: Event[] = []
    const r = listen(`${base}/api/v1/events`, seen, more.signal)
    try {
      const started = await call<{ id: string }>('POST', '/sets/docs/backup')
      assert.equal(started.status, 200, JSON.stringify(started.body))
      const end = await until('the end of the unlocked run', () => seen.find(e => e.type === 'run:end' && e.run.id === started.body.id))
      assert.equal(end.type === 'run:end' ? end.session.status : undefined, 'ok')
    } finally {
      more.abort()
      await r
    }
  })
})
