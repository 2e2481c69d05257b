import { readFile } from 'node:fs/promises'
import type { BackupConfig } from '../config/node-config.js'
import { NotificationError } from '../errors.js'
import { formatBytes } from '../util/format.js'
import { headerSafe } from '../util/mail-address.js'
import type { SessionReport } from './session-report.js'
import { sendMail } from './send-mail.js'

export type NotifyConfig = BackupConfig['notify']

const WEBHOOK_TIMEOUT_MS = 15000

/** Whether a session's summary goes out under `when`: failed and partial sessions count as failures. */
export function shouldNotify (when: NotifyConfig['when'], report: SessionReport): boolean {
  if (when === 'never') return false
  if (when === 'always') return true
  return report.status === 'failed' || report.status === 'partial'
}

/**
 * The summary as text: a subject line and a few lines of body. Paths may hold any character but NUL, so
 * the subject has its control characters (line breaks among them) made spaces; the body keeps them (the
 * mail library sends any text safely).
 */
export function summarize (report: SessionReport, node: string): { subject: string, text: string } {
  const what = report.set != null ? `set ${report.set}` : report.paths.join(' ')
  const subject = headerSafe(`Holdfast backup ${report.status} on ${node}: ${what}`).slice(0, 200)
  const lines = [
    `Session ${report.id} (${report.trigger}) on ${node}: ${report.status}${report.reason != null ? ` - ${report.reason}` : ''}`,
    ...(report.note != null ? [`Started as: ${report.note}`] : []),
    ...(report.nextRetry != null ? [`Next retry: ${report.nextRetry}`] : []),
    `Paths: ${report.paths.join(', ')}`,
    `Started ${report.started}, ended ${report.ended}`,
    ...(report.snapshot != null ? [`Snapshot: ${report.snapshot}`] : []),
    `Files: ${report.counts.filesNew} new, ${report.counts.filesChanged} changed, ${report.counts.filesUnchanged} unchanged`,
    `Read ${formatBytes(report.bytesRead)}, added ${formatBytes(report.bytesAdded)}, stored ${formatBytes(report.bytesStored)}`,
    `Warnings: ${report.warningsTotal}, errors: ${report.errorsTotal}`,
    ...report.errors.slice(0, 20).map(e => `error: ${e.path != null ? e.path + ': ' : ''}${e.message}`),
    ...report.warnings.slice(0, 20).map(e => `warning: ${e.path != null ? e.path + ': ' : ''}${e.message}`)
  ]
  return { subject, text: lines.join('\n') + '\n' }
}

/**
 * Sends a session's summary as configured: a JSON POST to the webhook, and/or an e-mail over SMTP.
 * Returns one message per channel that failed (the session's outcome does not depend on them).
 */
export async function notifySession (report: SessionReport, config: NotifyConfig, options: { node: string, signal?: AbortSignal, ca?: string | Buffer }): Promise<string[]> {
  if (!shouldNotify(config.when, report)) return []
  const failures: string[] = []
  if (config.webhook !== '') {
    try {
      await postWebhook(config.webhook, { event: 'holdfast.session', node: options.node, report }, options.signal)
    } catch (err) {
      failures.push(`webhook: ${(err as Error).message}`)
    }
  }
  if (config.smtp.host !== '' && config.smtp.to.length > 0) {
    try {
      const password = config.smtp.passwordFile !== '' ? (await readFile(config.smtp.passwordFile, 'utf8')).replace(/\r?\n$/, '') : undefined
      const { subject, text } = summarize(report, options.node)
      await sendMail({
        host: config.smtp.host,
        port: config.smtp.port,
        secure: config.smtp.secure,
        user: config.smtp.user !== '' ? config.smtp.user : undefined,
        password,
        from: config.smtp.from !== '' ? config.smtp.from : config.smtp.to[0],
        to: config.smtp.to,
        subject,
        text,
        ca: options.ca,
        signal: options.signal
      })
    } catch (err) {
      failures.push(`e-mail: ${(err as Error).message}`)
    }
  }
  return failures
}

/** POSTs `body` as JSON to `url` (15 s at most); NotificationError when it fails. */
export async function postWebhook (url: string, body: unknown, signal?: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'holdfast' },
      body: JSON.stringify(body),
      redirect: 'error',
      signal: signal != null ? AbortSignal.any([signal, timeout]) : timeout
    })
  } catch (err) {
    throw new NotificationError(`POST ${url}: ${(err as Error).message}`, { cause: err })
  }
  await res.body?.cancel().catch(() => undefined)
  if (!res.ok) throw new NotificationError(`POST ${url}: HTTP ${res.status}`)
}
