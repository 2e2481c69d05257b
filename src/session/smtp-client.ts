import { connect as netConnect, Socket } from 'node:net'
import { connect as tlsConnect, TLSSocket } from 'node:tls'
import { hostname } from 'node:os'
import { NotificationError } from '../errors.js'

export interface SmtpMessage {
  host: string
  port: number
  /** TLS from the start (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean
  /** Refuse to send credentials or mail over a connection that stayed plain. */
  requireTls?: boolean
  user?: string
  password?: string
  from: string
  to: string[]
  subject: string
  text: string
  /** Trust this CA (tests); the system's CAs otherwise. */
  ca?: string | Buffer
  timeoutMs?: number
  signal?: AbortSignal
}

/** Longest server reply accepted (all its lines). */
const MAX_REPLY = 64 * 1024

/**
 * A small SMTP client (RFC 5321) for session notifications: EHLO, STARTTLS when offered, AUTH PLAIN or
 * LOGIN, one message to its recipients, QUIT. Every step has a timeout; every reply is size-bounded.
 */
export async function sendMail (msg: SmtpMessage): Promise<void> {
  const timeoutMs = msg.timeoutMs ?? 30000
  let socket: Socket | TLSSocket = msg.secure
    ? tlsConnect({ host: msg.host, port: msg.port, servername: msg.host, ca: msg.ca })
    : netConnect({ host: msg.host, port: msg.port })
  let reader = new ReplyReader(socket)
  const onAbort = (): void => { socket.destroy(new NotificationError('SMTP: cancelled')) }
  msg.signal?.addEventListener('abort', onAbort, { once: true })
  try {
    const expect = async (codes: number[], what: string): Promise<Reply> => {
      const r = await reader.next(timeoutMs)
      if (!codes.includes(r.code)) throw new NotificationError(`SMTP ${what}: server replied ${r.code} ${r.lines.join(' ').slice(0, 200)}`)
      return r
    }
    const send = (line: string): void => { socket.write(line + '\r\n') }
    await expect([220], 'greeting')
    const me = hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'localhost'
    send(`EHLO ${me}`)
    let ehlo = await expect([250], 'EHLO')
    let tls = msg.secure
    if (!tls && ehlo.lines.some(l => /^STARTTLS\b/i.test(l))) {
      send('STARTTLS')
      await expect([220], 'STARTTLS')
      reader.detach()
      socket = await upgrade(socket, msg, timeoutMs)
      reader = new ReplyReader(socket)
      tls = true
      send(`EHLO ${me}`)
      ehlo = await expect([250], 'EHLO')
    }
    if (!tls && (msg.requireTls ?? msg.user != null)) throw new NotificationError('SMTP: the server offers no STARTTLS; credentials are not sent over a plain connection')
    if (msg.user != null && msg.user !== '') {
      const auth = ehlo.lines.find(l => /^AUTH\b/i.test(l))?.toUpperCase() ?? ''
      if (auth.includes('PLAIN')) {
        send(`AUTH PLAIN ${Buffer.from(`\0${msg.user}\0${msg.password ?? ''}`).toString('base64')}`)
        await expect([235], 'AUTH PLAIN')
      } else if (auth.includes('LOGIN')) {
        send('AUTH LOGIN')
        await expect([334], 'AUTH LOGIN')
        send(Buffer.from(msg.user).toString('base64'))
        await expect([334], 'AUTH LOGIN')
        send(Buffer.from(msg.password ?? '').toString('base64'))
        await expect([235], 'AUTH LOGIN')
      } else {
        throw new NotificationError('SMTP: the server offers neither AUTH PLAIN nor AUTH LOGIN')
      }
    }
    send(`MAIL FROM:<${address(msg.from)}>`)
    await expect([250], 'MAIL FROM')
    for (const to of msg.to) {
      send(`RCPT TO:<${address(to)}>`)
      await expect([250, 251], `RCPT TO ${to}`)
    }
    send('DATA')
    await expect([354], 'DATA')
    socket.write(formatMessage(msg))
    await expect([250], 'end of data')
    send('QUIT')
    await reader.next(timeoutMs).catch(() => undefined)
  } catch (err) {
    if (err instanceof NotificationError) throw err
    throw new NotificationError(`SMTP ${msg.host}:${msg.port}: ${(err as Error).message}`, { cause: err })
  } finally {
    msg.signal?.removeEventListener('abort', onAbort)
    socket.destroy()
  }
}

function address (a: string): string {
  if (/[<>\r\n\s]/.test(a) || !a.includes('@')) throw new NotificationError(`SMTP: not an e-mail address: ${JSON.stringify(a)}`)
  return a
}

function formatMessage (msg: SmtpMessage): string {
  const header = (v: string): string => v.replace(/[\r\n]+/g, ' ')
  const body = msg.text.replace(/\r?\n/g, '\r\n').split('\r\n').map(l => l.startsWith('.') ? '.' + l : l).join('\r\n')
  return [
    `From: ${header(msg.from)}`,
    `To: ${msg.to.map(header).join(', ')}`,
    `Subject: ${header(msg.subject)}`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
    '.',
    ''
  ].join('\r\n')
}

async function upgrade (plain: Socket | TLSSocket, msg: SmtpMessage, timeoutMs: number): Promise<TLSSocket> {
  return await new Promise((resolve, reject) => {
    const secure = tlsConnect({ socket: plain as Socket, servername: msg.host, ca: msg.ca })
    const timer = setTimeout(() => { secure.destroy(); reject(new NotificationError('SMTP: TLS handshake timed out')) }, timeoutMs)
    secure.once('secureConnect', () => { clearTimeout(timer); resolve(secure) })
    secure.once('error', err => { clearTimeout(timer); reject(err) })
  })
}

interface Reply { code: number, lines: string[] }

/** Reads SMTP replies (one or more `NNN-text` lines ending with `NNN text`) from a socket. */
class ReplyReader {
  private buffer = ''
  private readonly replies: Reply[] = []
  private waiter?: { resolve: (r: Reply) => void, reject: (e: Error) => void }
  private failure?: Error
  private pending: string[] = []
  private readonly onData = (chunk: Buffer): void => this.feed(chunk.toString('utf8'))
  private readonly onEnd = (): void => this.fail(new Error('the server closed the connection'))
  private readonly onError = (err: Error): void => this.fail(err)

  constructor (private readonly socket: Socket | TLSSocket) {
    socket.on('data', this.onData)
    socket.on('end', this.onEnd)
    socket.on('error', this.onError)
  }

  detach (): void {
    this.socket.off('data', this.onData)
    this.socket.off('end', this.onEnd)
    this.socket.off('error', this.onError)
  }

  private feed (text: string): void {
    this.buffer += text
    if (this.buffer.length > MAX_REPLY) { this.fail(new Error('reply too long')); return }
    let i: number
    while ((i = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, i).replace(/\r$/, '')
      this.buffer = this.buffer.slice(i + 1)
      const m = /^(\d{3})([ -])(.*)$/.exec(line)
      if (m == null) { this.fail(new Error(`malformed reply line: ${line.slice(0, 80)}`)); return }
      this.pending.push(m[3])
      if (m[2] === ' ') {
        this.replies.push({ code: Number(m[1]), lines: this.pending })
        this.pending = []
      }
    }
    this.wake()
  }

  private fail (err: Error): void {
    this.failure ??= err
    this.wake()
  }

  private wake (): void {
    if (this.waiter == null) return
    const w = this.waiter
    if (this.replies.length > 0) { this.waiter = undefined; w.resolve(this.replies.shift()!) } else if (this.failure != null) { this.waiter = undefined; w.reject(this.failure) }
  }

  async next (timeoutMs: number): Promise<Reply> {
    return await new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => { this.waiter = undefined; reject(new Error(`no reply within ${Math.round(timeoutMs / 1000)} s`)) }, timeoutMs)
      this.waiter = {
        resolve: r => { clearTimeout(timer); resolve(r) },
        reject: e => { clearTimeout(timer); reject(e) }
      }
      this.wake()
    })
  }
}
