/**
 * E-mail notifications over STARTTLS with authentication, through the CLI, against an SMTP server in this
 * process with a certificate made for the test (openssl); and credentials refused over a plain connection.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { createServer, Socket, AddressInfo } from 'node:net'
import { TLSSocket } from 'node:tls'
import { join } from 'node:path'
import { expectCode, hf, initRepo, makeTempDir, removeDir, TestRepo } from './helpers.js'

interface Received { tls: boolean, auth?: string, from: string, to: string[], data: string }

/** A minimal SMTP server: EHLO, optional STARTTLS, AUTH PLAIN (one user), MAIL, RCPT, DATA, QUIT. */
function smtpServer (opts: { key?: Buffer, cert?: Buffer, user: string, password: string }, mails: Received[]): ReturnType<typeof createServer> {
  return createServer((plain: Socket) => {
    let sock: Socket | TLSSocket = plain
    let tls = false
    let auth: string | undefined
    let buf = ''
    let inData = false
    let mail: Received = { tls: false, from: '', to: [], data: '' }
    const onData = (d: Buffer): void => {
      buf += String(d)
      let i: number
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (inData) {
          if (line === '.') { inData = false; mails.push({ ...mail, tls, auth }); sock.write('250 queued\r\n') } else mail.data += line + '\n'
          continue
        }
        if (/^EHLO/i.test(line)) sock.write(`250-test\r\n${!tls && opts.cert != null ? '250-STARTTLS\r\n' : ''}250 AUTH PLAIN LOGIN\r\n`)
        else if (line === 'STARTTLS' && opts.cert != null) {
          sock.write('220 go ahead\r\n')
          plain.removeListener('data', onData)
          const secure = new TLSSocket(plain, { isServer: true, key: opts.key, cert: opts.cert })
          secure.on('data', onData)
          secure.on('error', () => {})
          sock = secure
          tls = true
        } else if (/^AUTH PLAIN /i.test(line)) {
          const [, user, pass] = Buffer.from(line.slice(11), 'base64').toString().split('\0')
          if (user === opts.user && pass === opts.password) { auth = user; sock.write('235 ok\r\n') } else sock.write('535 no\r\n')
        } else if (/^MAIL FROM:/i.test(line)) { mail = { tls, from: /<(.*)>/.exec(line)![1], to: [], data: '' }; sock.write('250 ok\r\n') } else if (/^RCPT TO:/i.test(line)) { mail.to.push(/<(.*)>/.exec(line)![1]); sock.write('250 ok\r\n') } else if (line === 'DATA') { inData = true; sock.write('354 go\r\n') } else if (line === 'QUIT') sock.end('221 bye\r\n')
        else sock.write('500 what\r\n')
      }
    }
    plain.on('data', onData)
    plain.on('error', () => {})
    plain.write('220 test ESMTP\r\n')
  })
}

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
    const mails: Received[] = []
    const server = smtpServer({ ...(opts.tls ? { key, cert } : {}), user: 'owner', password: 's3cret' }, mails)
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try { await fn((server.address() as AddressInfo).port, mails) } finally { server.close() }
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
