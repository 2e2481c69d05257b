/**
 * A minimal SMTP server for the notification tests, on 127.0.0.1: EHLO, STARTTLS when given a key and
 * certificate (or TLS from the start with `implicitTls`), AUTH PLAIN for one user, MAIL, RCPT, DATA (dot-
 * stuffing undone), QUIT. It keeps the mails it received and every command line, so that a test can tell
 * what a client sent before it gave up.
 */
import { createServer, Socket, AddressInfo } from 'node:net'
import { TLSSocket } from 'node:tls'

export interface Received {
  tls: boolean
  auth?: string
  from: string
  to: string[]
  /** The message, dot-stuffing undone, lines ending with LF. */
  data: string
  /** The DATA lines as they came, split at CRLF only: a CR or LF left in one was sent bare. */
  wire: string[]
}

export interface SmtpServerOptions {
  key?: Buffer
  cert?: Buffer
  /** TLS from the first byte (as on port 465) instead of STARTTLS. */
  implicitTls?: boolean
  user?: string
  password?: string
}

function smtpServer (opts: SmtpServerOptions, mails: Received[], commands: string[]): ReturnType<typeof createServer> {
  return createServer((plain: Socket) => {
    let sock: Socket | TLSSocket = plain
    let tls = false
    let auth: string | undefined
    let buf = ''
    let inData = false
    let mail: Received = { tls: false, from: '', to: [], data: '', wire: [] }
    const secure = (): void => {
      plain.removeListener('data', onData)
      const s = new TLSSocket(plain, { isServer: true, key: opts.key, cert: opts.cert })
      s.on('data', onData)
      s.on('error', () => {})
      sock = s
      tls = true
    }
    const onData = (d: Buffer): void => {
      buf += String(d)
      let i: number
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (inData) {
          if (line === '.') { inData = false; mails.push({ ...mail, tls, auth }); sock.write('250 queued\r\n') } else { mail.wire.push(line); mail.data += (line.startsWith('.') ? line.slice(1) : line) + '\n' }
          continue
        }
        commands.push(line)
        if (/^EHLO/i.test(line)) sock.write(`250-test\r\n${!tls && opts.cert != null ? '250-STARTTLS\r\n' : ''}250 AUTH PLAIN LOGIN\r\n`)
        else if (line === 'STARTTLS' && opts.cert != null && !tls) {
          sock.write('220 go ahead\r\n')
          secure()
        } else if (/^AUTH PLAIN /i.test(line)) {
          const [, user, pass] = Buffer.from(line.slice(11), 'base64').toString().split('\0')
          if (user === opts.user && pass === opts.password) { auth = user; sock.write('235 ok\r\n') } else sock.write('535 no\r\n')
        } else if (/^MAIL FROM:/i.test(line)) { mail = { tls, from: /<(.*)>/.exec(line)![1], to: [], data: '', wire: [] }; sock.write('250 ok\r\n') } else if (/^RCPT TO:/i.test(line)) { mail.to.push(/<(.*)>/.exec(line)![1]); sock.write('250 ok\r\n') } else if (line === 'DATA') { inData = true; sock.write('354 go\r\n') } else if (line === 'QUIT') sock.end('221 bye\r\n')
        else sock.write('500 what\r\n')
      }
    }
    plain.on('error', () => {})
    if (opts.implicitTls === true) secure(); else plain.on('data', onData)
    sock.write('220 test ESMTP\r\n')
  })
}

export async function listenSmtp (opts: SmtpServerOptions): Promise<{ port: number, mails: Received[], commands: string[], close: () => void }> {
  const mails: Received[] = []
  const commands: string[] = []
  const server = smtpServer({ ...opts, user: opts.user ?? '', password: opts.password ?? '' }, mails, commands)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, mails, commands, close: () => { server.close() } }
}
