/**
 * E-mail notifications over STARTTLS with authentication, through the CLI, against an SMTP server in this
 * process with a certificate made for the test (openssl); and credentials refused over a plain connection.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expectCode, hf, initRepo, makeTempDir, removeDir, TestRepo } from './helpers.js'
import { listenSmtp, Received } from './smtp-server.js'

describe('e-mail notifications over SMTP (integration)', function () {
  let dir: string
  let repo: TestRepo
  let src: string
  let cert: Buffer
  let key: Buffer

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
    repo = await initRepo(dir, { count: 3, k: 2, m: 1 })
    src = join(dir, 'src')
    await mkdir(src)
    await writeFile(join(src, 'a.txt'), 'a')
    await writeFile(join(dir, 'smtp-password'), 's3cret\n')
  })

  after(async function () {
    await removeDir(dir)
  })

  async function withServer (opts: { tls: boolean }, fn: (port: number, mails: Received[]) => Promise<void>): Promise<void> {
    const server = await listenSmtp({ ...(opts.tls ? { key, cert } : {}), user: 'owner', password: 's3cret' })
    try { await fn(server.port, server.mails) } finally { server.close() }
  }

  it('upgrades with STARTTLS, authenticates, and sends the summary', async function () {
    await withServer({ tls: true }, async (port, mails) => {
      await writeFile(join(repo.home, 'node.json'), JSON.stringify({ backup: { notify: { when: 'always', smtp: { host: '127.0.0.1', port, user: 'owner', passwordFile: join(dir, 'smtp-password'), from: 'node@example.org', to: ['me@example.org'] } } } }))
      const r = await hf(repo.home, ['backup', src], { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') })
      expectCode(r, 0, 'backup')
      assert.doesNotMatch(r.stderr, /notification failed/)
      assert.equal(mails.length, 1)
      assert.equal(mails[0].tls, true, 'the mail went over TLS')
      assert.equal(mails[0].auth, 'owner', 'AUTH PLAIN with the password from the file')
      assert.match(mails[0].data, /^Subject: Holdfast backup ok/m)
    })
  })

  it('a server offering no STARTTLS gets no credentials: the notification fails, the session does not', async function () {
    await withServer({ tls: false }, async (port, mails) => {
      await writeFile(join(repo.home, 'node.json'), JSON.stringify({ backup: { notify: { when: 'always', smtp: { host: '127.0.0.1', port, user: 'owner', passwordFile: join(dir, 'smtp-password'), from: 'node@example.org', to: ['me@example.org'] } } } }))
      const r = await hf(repo.home, ['backup', src])
      expectCode(r, 0, 'backup')
      assert.match(r.stderr, /notification failed: e-mail: SMTP: the server offers no STARTTLS; credentials are not sent over a plain connection/)
      assert.equal(mails.length, 0)
    })
  })

  it('a certificate the node does not trust fails the notification, not the session', async function () {
    await withServer({ tls: true }, async (port, mails) => {
      await writeFile(join(repo.home, 'node.json'), JSON.stringify({ backup: { notify: { when: 'always', smtp: { host: '127.0.0.1', port, user: 'owner', passwordFile: join(dir, 'smtp-password'), from: 'node@example.org', to: ['me@example.org'] } } } }))
      const r = await hf(repo.home, ['backup', src])
      expectCode(r, 0, 'backup')
      assert.match(r.stderr, /notification failed: e-mail: SMTP/)
      assert.equal(mails.length, 0)
    })
  })
})
