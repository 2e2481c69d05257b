import { readFile } from 'node:fs/promises'
import { NotificationError } from '../errors.js'
import { headerSafe } from '../util/mail-address.js'
import { postWebhook, type NotifyConfig } from './notify.js'
import { sendMail } from './send-mail.js'

/**
 * Sends a test notification through every configured channel (the webhook, e-mail), whatever `when`
 * says: the channels the summaries of sessions would take. Returns the channels it went through;
 * NotificationError naming each channel that failed, or when none is configured.
 */
export async function sendTestNotification (config: NotifyConfig, options: { node: string, signal?: AbortSignal, ca?: string | Buffer }): Promise<string[]> {
  const sent: string[] = []
  const failures: string[] = []
  const text = `This is a test notification from the Holdfast node ${options.node}. Session summaries are sent here when: ${config.when}.\n`
  if (config.webhook !== '') {
    try {
      await postWebhook(config.webhook, { event: 'holdfast.test', node: options.node, message: text.trim() }, options.signal)
      sent.push('webhook')
    } catch (err) {
      failures.push(`webhook: ${(err as Error).message}`)
    }
  }
  if (config.smtp.host !== '' && config.smtp.to.length > 0) {
    try {
      const password = config.smtp.passwordFile !== '' ? (await readFile(config.smtp.passwordFile, 'utf8')).replace(/\r?\n$/, '') : undefined
      await sendMail({
        host: config.smtp.host,
        port: config.smtp.port,
        secure: config.smtp.secure,
        user: config.smtp.user !== '' ? config.smtp.user : undefined,
        password,
        from: config.smtp.from !== '' ? config.smtp.from : config.smtp.to[0],
        to: config.smtp.to,
        subject: headerSafe(`Holdfast test notification from ${options.node}`).slice(0, 200),
        text,
        ca: options.ca,
        signal: options.signal
      })
      sent.push(`e-mail to ${config.smtp.to.join(', ')}`)
    } catch (err) {
      failures.push(`e-mail: ${(err as Error).message}`)
    }
  }
  if (sent.length === 0 && failures.length === 0) throw new NotificationError('no notification channel is configured: set an SMTP server (with from and to) or a webhook')
  if (failures.length > 0) throw new NotificationError(failures.join('; ') + (sent.length > 0 ? ` (sent by ${sent.join(', ')})` : ''))
  return sent
}
