import { createTransport } from 'nodemailer'
import { hostname } from 'node:os'
import { ConfigError, NotificationError } from '../errors.js'
import { checkMailAddress, checkHeaderText } from '../util/mail-address.js'

export interface MailMessage {
  host: string
  port: number
  /** TLS from the start (port 465); otherwise STARTTLS, required when there are credentials. */
  secure: boolean
  user?: string
  password?: string
  from: string
  to: string[]
  subject: string
  text: string
  /** Trust this CA instead of the system's (tests); NODE_EXTRA_CA_CERTS adds one to the system's. */
  ca?: string | Buffer
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * Sends one plain-text message over SMTP with nodemailer, which does the protocol: STARTTLS, AUTH, header
 * encoding, line endings and dot-stuffing of the body. What this adds is policy. Credentials never go
 * over a plain connection: with a user, STARTTLS is required (`requireTLS`), so a server that does not
 * offer it (or a man in the middle that strips it) gets neither the password nor the mail. Certificates
 * are verified. Addresses and the subject are checked here too (no CR/LF, one bare address each), so a
 * header cannot be injected whatever nodemailer's parser would make of it, and the envelope is given
 * explicitly rather than parsed from the headers.
 */
export async function sendMail (msg: MailMessage): Promise<void> {
  const from = checkMailAddress(msg.from, (m) => new ConfigError(`e-mail from: ${m}`))
  const to = msg.to.map(a => checkMailAddress(a, (m) => new ConfigError(`e-mail to: ${m}`)))
  if (to.length === 0) throw new ConfigError('e-mail: no recipient')
  const subject = checkHeaderText(msg.subject, (m) => new NotificationError(`e-mail subject: ${m}`))
  const timeoutMs = msg.timeoutMs ?? 30000
  const auth = msg.user != null && msg.user !== '' ? { user: msg.user, pass: msg.password ?? '' } : undefined
  const transport = createTransport({
    host: msg.host,
    port: msg.port,
    secure: msg.secure,
    requireTLS: auth != null && !msg.secure,
    ...(auth != null ? { auth } : {}),
    name: hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'localhost',
    tls: { rejectUnauthorized: true, ...(msg.ca != null ? { ca: msg.ca } : {}) },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    socketCloseTimeout: 1000,
    logger: false
  })
  try {
    await transport.sendMail({
      from,
      to,
      envelope: { from, to },
      subject,
      text: msg.text,
      disableFileAccess: true,
      disableUrlAccess: true,
      ...(msg.signal != null ? { signal: msg.signal } : {})
    })
  } catch (err) {
    const e = err as Error & { code?: string }
    const note = e.code === 'ETLS' && auth != null ? '; TLS is required with credentials: neither they nor the mail were sent' : ''
    throw new NotificationError(`SMTP ${msg.host}:${msg.port}: ${e.message}${e.code != null ? ` (${e.code})` : ''}${note}`, { cause: err })
  } finally {
    transport.close()
  }
}
