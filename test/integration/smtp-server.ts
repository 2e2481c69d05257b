/**
 * A minimal SMTP server for the notification tests, on 127.0.0.1: EHLO, STARTTLS when given a key and
 * certificate, AUTH PLAIN for one user, MAIL, RCPT, DATA, QUIT. It keeps what it received.
 */
import { createServer, Socket, AddressInfo } from 'node:net'
import { TLSSocket } from 'node:tls'

export interface Received { tls: boolean, auth?: string, from: string, to: string[], data: string }

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

export async function listenSmtp (opts: { key?: Buffer, cert?: Buffer, user?: string, password?: string }): Promise<{ port: number, mails: Received[], close: () => void }> {
  const mails: Received[] = []
  const server = smtpServer({ ...opts, user: opts.user ?? '', password: opts.password ?? '' }, mails)
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { port: (server.address() as AddressInfo).port, mails, close: () => { server.close() } }
}
