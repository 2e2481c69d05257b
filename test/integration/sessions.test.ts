/**
 * Backup sessions through the CLI with directory stores: the config's selection rules, the session log,
 * hooks, and notifications (a webhook and an SMTP server on 127.0.0.1, in this process).
 */
import assert from 'node:assert/strict'
import { createServer as createHttpServer, IncomingMessage } from 'node:http'
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { SessionReport } from '../../src/session/index.js'
import { listenSmtp } from './smtp-server.js'
import { expectCode, hf, initRepo, makeTempDir, parseJson, PASSPHRASE, removeDir, TestRepo, writeRandom } from './helpers.js'

async function writeConfig (home: string, backup: object): Promise<void> {
  await writeFile(join(home, 'node.json'), JSON.stringify({ backup }, null, 2))
}

async function sessions (home: string): Promise<SessionReport[]> {
  const r = await hf(home, ['sessions', '--json'])
  expectCode(r, 0, 'sessions --json')
  return parseJson<SessionReport[]>(r, 'sessions --json')
}

async function lsPaths (home: string): Promise<string[]> {
  const r = await hf(home, ['ls', '--json', 'latest'])
  expectCode(r, 0, 'ls')
  return parseJson<Array<{ path: string }>>(r, 'ls --json').map(e => e.path)
}

describe('backup sessions (integration)', function () {
  let dir: string
  let repo: TestRepo
  let src: string

  before(async function () {
    dir = await makeTempDir('sessions')
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    src = join(dir, 'src')
    await mkdir(join(src, 'docs'), { recursive: true })
    await mkdir(join(src, 'node_modules', 'pkg'), { recursive: true })
    await mkdir(join(src, 'cache'), { recursive: true })
    await mkdir(join(src, 'keep'), { recursive: true })
    await writeRandom(join(src, 'docs', 'a.bin'), 50_000)
    await writeFile(join(src, 'docs', 'notes.txt'), 'notes')
    await writeFile(join(src, 'docs', 'trace.log'), 'log')
    await writeFile(join(src, 'keep', 'important.log'), 'kept by !')
    await writeFile(join(src, 'node_modules', 'pkg', 'index.js'), 'x')
    await writeFile(join(src, 'cache', 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55\n# a cache')
    await writeFile(join(src, 'cache', 'blob'), 'cached')
    await writeFile(join(src, '.holdfastignore'), '*.log\n')
    await writeFile(join(src, 'keep', '.holdfastignore'), '!important.log\n')
  })

  after(async function () {
    await removeDir(dir)
  })

  it('applies exclude patterns, per-directory ignore files and CACHEDIR.TAG, and logs the session', async function () {
    await writeConfig(repo.home, { exclude: ['node_modules'], excludeCaches: true })
    const r = await hf(repo.home, ['backup', '--json', '--tag', 'first', src])
    expectCode(r, 0, 'backup')
    const out = parseJson<{ session: string, snapshot: string, tags: string[] }>(r, 'backup --json')
    assert.deepEqual(out.tags, ['first'])
    const paths = (await lsPaths(repo.home)).filter(p => p.startsWith(src)).map(p => p.slice(src.length))
    assert.deepEqual(paths.sort(), ['', '/.holdfastignore', '/cache', '/docs', '/docs/a.bin', '/docs/notes.txt', '/keep', '/keep/.holdfastignore', '/keep/important.log'].sort())
    const log = await sessions(repo.home)
    assert.equal(log.length, 1)
    assert.equal(log[0].id, out.session)
    assert.equal(log[0].status, 'ok')
    assert.equal(log[0].trigger, 'manual')
    assert.equal(log[0].snapshot, out.snapshot)
    assert.equal(log[0].counts.filesNew, 5)
    assert.ok(log[0].bytesRead >= 50_000 && log[0].bytesStored > log[0].bytesAdded, JSON.stringify(log[0]))
    assert.ok(Date.parse(log[0].ended) >= Date.parse(log[0].started))
    const text = await hf(repo.home, ['sessions'])
    expectCode(text, 0, 'sessions')
    assert.match(text.stdout, new RegExp(`${out.session}.*manual.*ok.*${out.snapshot.slice(0, 8)}`))
  })

  it('a failing pre-hook aborts the session when configured: no snapshot, the report says why', async function () {
    const marker = join(dir, 'post-env')
    await writeConfig(repo.home, {
      hooks: { pre: 'echo "database dump failed" >&2; exit 3', post: `env | grep ^HOLDFAST_ | sort > ${marker}`, abortOnPreFailure: true }
    })
    const before = (await hf(repo.home, ['snapshots', '--json'])).stdout
    const r = await hf(repo.home, ['backup', src])
    expectCode(r, 1, 'backup with a failing pre-hook')
    assert.match(r.stderr, /pre hook exited with code 3: database dump failed/)
    assert.equal((await hf(repo.home, ['snapshots', '--json'])).stdout, before, 'no new snapshot')
    const [last] = await sessions(repo.home)
    assert.equal(last.status, 'failed')
    assert.match(last.reason ?? '', /pre hook exited with code 3/)
    assert.equal(last.snapshot, undefined)
    const env = await readFile(marker, 'utf8')
    assert.match(env, /^HOLDFAST_STATUS=failed$/m, 'the post-hook still runs and sees the outcome')
    assert.match(env, new RegExp(`^HOLDFAST_SESSION=${last.id}$`, 'm'))
    assert.match(env, new RegExp(`^HOLDFAST_PATHS=${src}$`, 'm'))
  })

  it('a failing pre-hook is a warning when abortOnPreFailure is false; the post-hook sees the snapshot', async function () {
    const marker = join(dir, 'post-env-2')
    await writeConfig(repo.home, { hooks: { pre: 'exit 1', post: `env | grep ^HOLDFAST_ > ${marker}`, abortOnPreFailure: false } })
    const r = await hf(repo.home, ['backup', '--json', src])
    expectCode(r, 0, 'backup')
    const { snapshot } = parseJson<{ snapshot: string }>(r, 'backup --json')
    assert.match(r.stderr, /warning: pre hook exited with code 1/)
    const env = await readFile(marker, 'utf8')
    assert.match(env, /^HOLDFAST_STATUS=ok$/m)
    assert.match(env, new RegExp(`^HOLDFAST_SNAPSHOT=${snapshot}$`, 'm'))
    const [last] = await sessions(repo.home)
    assert.equal(last.warningsTotal, 1)
    assert.match(last.warnings[0].message, /pre hook exited with code 1/)
  })

  it('hooks never see the passphrase: neither its variable nor its value is in their environment', async function () {
    const pre = join(dir, 'pre-env-secret')
    const post = join(dir, 'post-env-secret')
    await writeConfig(repo.home, { hooks: { pre: `env > ${pre}`, post: `env > ${post}` } })
    const r = await hf(repo.home, ['backup', src], { HOLDFAST_PASSPHRASE: PASSPHRASE })
    expectCode(r, 0, 'backup with hooks')
    for (const file of [pre, post]) {
      const env = await readFile(file, 'utf8')
      assert.match(env, /^HOLDFAST_SESSION=/m, `${file}: the hook ran with the session's variables`)
      assert.doesNotMatch(env, /PASSPHRASE/, `${file}: no passphrase variable`)
      assert.ok(!env.includes(PASSPHRASE), `${file}: the passphrase does not appear`)
    }
  })

  it('a pre-hook past its timeout is killed and aborts the session', async function () {
    await writeConfig(repo.home, { hooks: { pre: 'sleep 30', timeoutSeconds: 1 } })
    const started = Date.now()
    const r = await hf(repo.home, ['backup', src])
    expectCode(r, 1, 'backup with a hanging pre-hook')
    assert.match(r.stderr, /pre hook timed out after 1 s/)
    assert.ok(Date.now() - started < 20_000, 'the hook was killed')
  })

  it('sends the summary to a webhook on failure, and not on success with when=failure', async function () {
    const received: unknown[] = []
    const server = createHttpServer((req: IncomingMessage, res) => {
      let body = ''
      req.on('data', d => { body += String(d) })
      req.on('end', () => { received.push(JSON.parse(body)); res.writeHead(204).end() })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
      await writeConfig(repo.home, { notify: { when: 'failure', webhook: url } })
      expectCode(await hf(repo.home, ['backup', src]), 0, 'backup')
      assert.equal(received.length, 0, 'no summary for a good session')
      expectCode(await hf(repo.home, ['backup', join(dir, 'does-not-exist')]), 1, 'backup of a missing path')
      assert.equal(received.length, 1)
      const msg = received[0] as { event: string, report: SessionReport }
      assert.equal(msg.event, 'holdfast.session')
      assert.equal(msg.report.status, 'failed')
      assert.match(msg.report.reason ?? '', /SourceNotFoundError/)
    } finally {
      server.close()
    }
  })

  it('e-mails the summary over SMTP when=always (no credentials, so a server without STARTTLS is fine)', async function () {
    const server = await listenSmtp({})
    const mails = server.mails
    try {
      const port = server.port
      await writeConfig(repo.home, { notify: { when: 'always', smtp: { host: '127.0.0.1', port, from: 'node@example.org', to: ['admin@example.org', 'ops@example.org'] } } })
      const r = await hf(repo.home, ['backup', '--json', src])
      expectCode(r, 0, 'backup')
      const { session } = parseJson<{ session: string }>(r, 'backup --json')
      assert.equal(mails.length, 1)
      assert.equal(mails[0].from, 'node@example.org')
      assert.deepEqual(mails[0].to, ['admin@example.org', 'ops@example.org'])
      assert.match(mails[0].data, /^Subject: Holdfast backup ok on /m)
      assert.match(mails[0].data, new RegExp(`Session ${session} \\(manual\\)`))
    } finally {
      server.close()
    }
  })

  it('a notification that cannot be delivered is a warning in the report, not a failed session', async function () {
    await writeConfig(repo.home, { notify: { when: 'always', webhook: 'http://127.0.0.1:9/nothing-listens' } })
    const r = await hf(repo.home, ['backup', src])
    expectCode(r, 0, 'backup')
    assert.match(r.stderr, /notification failed: webhook/)
    const [last] = await sessions(repo.home)
    assert.equal(last.status, 'ok')
    assert.ok(last.warnings.some(w => /notification failed: webhook/.test(w.message)))
  })

  it('backup --set runs a configured set with its own excludes; an unknown set is a usage error', async function () {
    await writeConfig(repo.home, { sets: [{ name: 'docs', paths: [join(src, 'docs')], exclude: ['*.txt'] }] })
    const r = await hf(repo.home, ['backup', '--json', '--set', 'docs'])
    expectCode(r, 0, 'backup --set docs')
    const paths = await lsPaths(repo.home)
    assert.ok(paths.includes(join(src, 'docs', 'a.bin')))
    assert.ok(!paths.includes(join(src, 'docs', 'notes.txt')))
    const [last] = await sessions(repo.home)
    assert.equal(last.set, 'docs')
    const bad = await hf(repo.home, ['backup', '--set', 'nope'])
    expectCode(bad, 2, 'unknown set')
    assert.match(bad.stderr, /no backup set named "nope"/)
  })

  it('a file written to while it is read is read again, then reported; the snapshot holds what was read', async function () {
    await writeConfig(repo.home, {})
    const live = join(dir, 'live')
    await mkdir(live)
    const path = join(live, 'growing.log')
    await writeRandom(path, 8 * 1024 * 1024)
    // another process appends to the file every few milliseconds during the whole backup
    const writer = spawn(process.execPath, ['-e', `const fs = require('fs'); setInterval(() => fs.appendFileSync(${JSON.stringify(path)}, 'more\\n'), 3)`], { stdio: 'ignore' })
    try {
      await new Promise(resolve => setTimeout(resolve, 100))
      const r = await hf(repo.home, ['backup', '--json', live])
      expectCode(r, 0, 'backup of a file being written')
      const out = parseJson<{ warnings: Array<{ path: string, message: string }>, partial: boolean }>(r, 'backup --json')
      assert.equal(out.partial, false, 'the file is in the snapshot')
      assert.deepEqual(out.warnings.map(w => w.path), [path])
      assert.match(out.warnings[0].message, /changed while being read \(read twice\)/)
    } finally {
      writer.kill()
    }
    const paths = await lsPaths(repo.home)
    assert.ok(paths.includes(path))
  })
})
