/**
 * E-mail notifications through the CLI, against an SMTP server in this process with a certificate made for
 * the test (openssl): STARTTLS with authentication, TLS from the start, credentials and mail withheld from a
 * server without STARTTLS, an untrusted certificate, and attempts to inject headers or end the DATA early.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expectCode, hf, initRepo, makeTempDir, removeDir, TestRepo } from './helpers.js'
import { listenSmtp, Received, SmtpServerOptions } from './smtp-server.js'

/** The header section of a received message, unfolded: one entry per header. */
function headersOf (data: string): string[] {
  const head = data.slice(0, data.indexOf('\n\n'))
  return head.replace(/\n[ \t]+/g, ' ').split('\n')
}

/** The body of a received message, quoted-printable soft line breaks and escapes undone when so encoded. */
function bodyOf (data: string): string {
  const body = data.slice(data.indexOf('\n\n') + 2)
  if (!/^Content-Transfer-Encoding: quoted-printable$/im.test(data.slice(0, data.indexOf('\n\n')))) return body
  return Buffer.from(body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')
}

describe('e-mail notifications over SMTP (integration)', function () {
  let dir: string
  let repo: TestRepo
  let src: string
  let cert: Buffer
  let key: Buffer
  let caEnv: NodeJS.ProcessEnv

  before(async function () {
    dir = await makeTempDir('smtp')
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    } catch {
      this.skip() // no openssl to make a certificate with
    }
    key = await readFile(join(dir, 'key.pem'))
    cert = await readFile(join(dir, 'cert.pem'))
    caEnv = { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    src = join(dir, 'src')
    await mkdir(src)
    await writeFile(join(src, 'a.txt'), 'a')
    await writeFile(join(dir, 'smtp-password'), 's3cret\n')
  })

  after(async function () {
    await removeDir(dir)
  })

  async function withServer (opts: Omit<SmtpServerOptions, 'key' | 'cert'> & { tls: boolean }, fn: (port: number, mails: Received[], commands: string[]) => Promise<void>): Promise<void> {
    const server = await listenSmtp({ ...(opts.tls ? { key, cert } : {}), implicitTls: opts.implicitTls, user: 'owner', password: 's3cret' })
    try { await fn(server.port, server.mails, server.commands) } finally { server.close() }
  }

  async function configure (smtp: object): Promise<void> {
    await writeFile(join(repo.home, 'node.json'), JSON.stringify({ backup: { notify: { when: 'always', smtp } } }))
  }

  const withCredentials = (port: number): object => ({ host: '127.0.0.1', port, user: 'owner', passwordFile: join(dir, 'smtp-password'), from: 'node@example.org', to: ['me@example.org'] })

  it('upgrades with STARTTLS, authenticates with the password from the file, and sends the summary', async function () {
    await withServer({ tls: true }, async (port, mails, commands) => {
      await configure(withCredentials(port))
      const r = await hf(repo.home, ['backup', src], caEnv)
      expectCode(r, 0, 'backup')
      assert.doesNotMatch(r.stderr, /notification failed/)
      assert.equal(mails.length, 1)
      assert.equal(mails[0].tls, true, 'the mail went over TLS')
      assert.equal(mails[0].auth, 'owner', 'AUTH PLAIN with the password from the file')
      assert.deepEqual(mails[0].to, ['me@example.org'])
      assert.match(mails[0].data, /^Subject: Holdfast backup ok/m)
      assert.equal(commands.findIndex(c => /^AUTH/i.test(c)) > commands.indexOf('STARTTLS'), true, 'AUTH only after STARTTLS')
    })
  })

  it('with secure: true, talks TLS from the first byte (as on port 465)', async function () {
    await withServer({ tls: true, implicitTls: true }, async (port, mails) => {
      await configure({ ...withCredentials(port), secure: true })
      const r = await hf(repo.home, ['backup', src], caEnv)
      expectCode(r, 0, 'backup')
      assert.doesNotMatch(r.stderr, /notification failed/)
      assert.equal(mails.length, 1)
      assert.equal(mails[0].tls, true)
      assert.equal(mails[0].auth, 'owner')
    })
  })

  it('a server offering no STARTTLS (or a man in the middle stripping it) gets neither the credentials nor the mail; the session still succeeds', async function () {
    await withServer({ tls: false }, async (port, mails, commands) => {
      await configure(withCredentials(port))
      const r = await hf(repo.home, ['backup', src], caEnv)
      expectCode(r, 0, 'backup')
      assert.match(r.stderr, /notification failed: e-mail: SMTP 127\.0\.0\.1:\d+: .*STARTTLS.*TLS is required with credentials/)
      assert.equal(mails.length, 0)
      assert.ok(commands.length > 0, 'the client did talk to the server')
      assert.deepEqual(commands.filter(c => /^(AUTH|MAIL|RCPT|DATA)\b/i.test(c)), [], `no AUTH, MAIL, RCPT or DATA: ${JSON.stringify(commands)}`)
      assert.ok(!commands.some(c => c.includes(Buffer.from('s3cret').toString('base64')) || c.includes('s3cret')), 'the password never went out')
    })
  })

  it('a certificate the node does not trust fails the notification, not the session; nothing is sent', async function () {
    await withServer({ tls: true }, async (port, mails, commands) => {
      await configure(withCredentials(port))
      const r = await hf(repo.home, ['backup', src])
      expectCode(r, 0, 'backup')
      assert.match(r.stderr, /notification failed: e-mail: SMTP 127\.0\.0\.1:\d+: .*certificate/i)
      assert.equal(mails.length, 0)
      assert.deepEqual(commands.filter(c => /^(AUTH|MAIL|RCPT|DATA)\b/i.test(c)), [])
    })
  })

  it('a from or to with a line break, or more than one address, is a ConfigError (exit 2) before anything is sent', async function () {
    await withServer({ tls: true }, async (port, mails, commands) => {
      const cases: Array<[object, RegExp]> = [
        [{ from: 'node@example.org\r\nBcc: evil@example.org' }, /backup\.notify\.smtp\.from.*line break/],
        [{ to: ['me@example.org\nBcc: evil@example.org'] }, /backup\.notify\.smtp\.to\[0\].*line break/],
        [{ to: ['me@example.org, evil@example.org'] }, /backup\.notify\.smtp\.to\[0\].*not one e-mail address/],
        [{ from: 'Holdfast <node@example.org>' }, /backup\.notify\.smtp\.from.*not one e-mail address/],
        [{ user: 'owner\r\nRSET' }, /backup\.notify\.smtp\.user.*line break/]
      ]
      for (const [bad, message] of cases) {
        await configure({ ...withCredentials(port), ...bad })
        const r = await hf(repo.home, ['backup', src], caEnv)
        expectCode(r, 2, `backup with ${JSON.stringify(bad)}`)
        assert.match(r.stderr, message)
      }
      assert.equal(mails.length, 0)
      assert.deepEqual(commands, [], 'no connection got as far as a command')
    })
  })

  it('a path with CR/LF in the subject cannot add a header: the subject stays one line, the recipients are the configured ones', async function () {
    const evil = join(dir, 'x\r\nBcc: evil@example.org\r\nX-Injected: yes')
    await mkdir(evil)
    await writeFile(join(evil, 'f'), 'f')
    await withServer({ tls: true }, async (port, mails) => {
      await configure(withCredentials(port))
      const r = await hf(repo.home, ['backup', evil], caEnv)
      expectCode(r, 0, 'backup')
      assert.doesNotMatch(r.stderr, /notification failed/)
      assert.equal(mails.length, 1)
      assert.deepEqual(mails[0].to, ['me@example.org'])
      const headers = headersOf(mails[0].data)
      assert.ok(!headers.some(h => /^(Bcc|X-Injected):/i.test(h)), `no injected header: ${JSON.stringify(headers)}`)
      assert.equal(headers.filter(h => /^Subject:/i.test(h)).length, 1)
    })
  })

  it('a body with "\\r.\\r\\n" and a bare "\\r" arrives whole: the DATA does not end early, no command is smuggled', async function () {
    // the summary's body names the missing path in its error line; the line after it must arrive too
    const missing = join(dir, 'gone\r.\r\nMAIL FROM:<evil@example.org>\rbare')
    await withServer({ tls: true }, async (port, mails, commands) => {
      await configure(withCredentials(port))
      const r = await hf(repo.home, ['backup', missing], caEnv)
      expectCode(r, 1, 'backup of a missing path')
      assert.doesNotMatch(r.stderr, /notification failed/)
      assert.equal(mails.length, 1, 'one message')
      assert.equal(commands.filter(c => /^MAIL FROM/i.test(c)).length, 1, `one MAIL FROM: ${JSON.stringify(commands)}`)
      assert.ok(!commands.some(c => c.includes('evil@example.org')), 'nothing from the body was read as a command')
      const bare = mails[0].wire.filter(l => /[\r\n]/.test(l))
      assert.deepEqual(bare, [], 'every line of the DATA ends with CRLF: no bare CR or LF on the wire')
      const body = bodyOf(mails[0].data)
      assert.match(body, /^Session .* failed/m)
      assert.match(body, /MAIL FROM:<evil@example\.org>/, 'the text is in the body')
      assert.match(body, /^\.$/m, 'the dot after the CR arrived as text (dot-stuffed on the wire)')
      assert.match(body, /^bare$/m, 'the bare CR became a line break')
      assert.match(body, /^Warnings: \d+, errors: 1$/m, 'the lines after the path arrived')
      assert.match(body, /^error: .*SourceNotFoundError/m)
    })
  })
})
