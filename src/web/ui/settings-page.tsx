import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { bytes } from './format.js'
import { Problem } from './problem.js'
import { settingsApi, type Settings, type SettingsPatch } from './settings-api.js'
import { useResource } from './use-resource.js'
import { KeysPanel } from './keys-panel.js'

/**
 * The Settings page: the node.json sections the daemon applies without a restart (retention, bandwidth,
 * notifications, vault, maintenance), one form each. The daemon checks every value as it checks the
 * file, so the fields are plain text and its error text is shown next to the form that was saved.
 */
export function SettingsPage () {
  const r = useResource(async signal => await settingsApi.get(signal), [], 0)
  // what the last save answered: the forms keep what was typed, the notes follow the daemon
  const [saved, setSaved] = useState<Settings>()
  const s = saved ?? r.data
  if (s == null) return <Problem resource={r} what='the settings' />
  const reload = setSaved
  return (
    <section aria-labelledby='settings-title' class='settings'>
      <h1 id='settings-title'>Settings</h1>
      <p>Saved to node.json and applied at once. The daemon also reads node.json again on SIGHUP.</p>
      {s.afterRestart.length > 0 ? <p class='note' data-testid='restart-pending'>Changed in node.json, taking effect after a restart: {s.afterRestart.join(', ')}.</p> : null}
      <RetentionForm s={s} onSaved={reload} />
      <BandwidthForm s={s} onSaved={reload} />
      <NotificationsForm s={s} onSaved={reload} />
      <VaultForm s={s} onSaved={reload} />
      <MaintenanceForm s={s} onSaved={reload} />
      <KeysPanel />
    </section>
  )
}

interface FormProps { s: Settings, onSaved: (settings: Settings) => void }

/** A number when the text is one, else the text as typed (the daemon says what is wrong with it). */
function num (text: string): number | string {
  const t = text.trim()
  return /^-?\d+$/.test(t) ? Number(t) : t
}

/** The keys of `next` whose values differ from `current`'s: a save writes only what was changed into node.json. */
function changed<T extends object> (current: T, next: Partial<Record<keyof T, unknown>>): Partial<Record<keyof T, never>> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(next)) if (JSON.stringify((current as Record<string, unknown>)[k]) !== JSON.stringify(v)) out[k] = v
  return out as Partial<Record<keyof T, never>>
}

function lines (text: string): string[] {
  return text.split('\n').map(l => l.trim()).filter(l => l !== '')
}

/** One section's form: its fields, a Save button, and what the daemon answered next to it. */
function SettingsForm ({ id, title, children, patch, onSaved, extra }: { id: string, title: string, children: ComponentChildren, patch: () => SettingsPatch, onSaved: (settings: Settings) => void, extra?: ComponentChildren }) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const [done, setDone] = useState<string>()
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    setDone(undefined)
    try {
      const r = await settingsApi.update(patch())
      setDone(`Saved. Applied now: ${r.appliedNow.length > 0 ? r.appliedNow.join(', ') : 'nothing changed'}.${r.afterRestart.length > 0 ? ` After a restart: ${r.afterRestart.join(', ')}.` : ''}`)
      onSaved(r.settings)
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <form class='card settings-form' aria-labelledby={`${id}-title`} data-testid={`settings-${id}`} onSubmit={e => { void submit(e) }}>
      <h2 id={`${id}-title`}>{title}</h2>
      <div class='fields'>{children}</div>
      <div class='actions'>
        <button type='submit' disabled={busy}>{busy ? 'Saving...' : `Save ${title.toLowerCase()}`}</button>
        {extra}
      </div>
      <div aria-live='polite'>
        {error != null ? <p class='error' role='alert' data-testid='settings-error'>{error}</p> : null}
        {done != null ? <p class='ok' data-testid='settings-saved'>{done}</p> : null}
      </div>
    </form>
  )
}

function Field ({ id, label, value, onInput, hint, inputMode }: { id: string, label: string, value: string, onInput: (v: string) => void, hint?: string, inputMode?: 'numeric' | 'url' | 'email' }) {
  return (
    <div class='field'>
      <label for={id}>{label}</label>
      <input id={id} type='text' inputMode={inputMode} value={value} onInput={e => onInput((e.target as HTMLInputElement).value)} aria-describedby={hint != null ? `${id}-hint` : undefined} />
      {hint != null ? <small id={`${id}-hint`}>{hint}</small> : null}
    </div>
  )
}

function Check ({ id, label, checked, onChange }: { id: string, label: string, checked: boolean, onChange: (v: boolean) => void }) {
  return (
    <div class='field check'>
      <input id={id} type='checkbox' checked={checked} onChange={e => onChange((e.target as HTMLInputElement).checked)} />
      <label for={id}>{label}</label>
    </div>
  )
}

const KEEP = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const

function RetentionForm ({ s, onSaved }: FormProps) {
  const [v, setV] = useState<Record<string, string>>(Object.fromEntries(KEEP.map(k => [k, String(s.retention[k])])))
  const [prune, setPrune] = useState(s.retention.prune)
  return (
    <SettingsForm id='retention' title='Retention' onSaved={onSaved} patch={() => ({ retention: changed(s.retention, { ...Object.fromEntries(KEEP.map(k => [k, num(v[k])])), prune }) })}>
      <p class='hint'>Snapshots kept after each scheduled backup: how many of each kind (-1: all; 0 everywhere: keep every snapshot).</p>
      {KEEP.map(k => <Field key={k} id={`retention-${k}`} label={`Keep ${k}`} inputMode='numeric' value={v[k]} onInput={x => setV({ ...v, [k]: x })} />)}
      <Check id='retention-prune' label='Prune after forgetting (frees the space)' checked={prune} onChange={setPrune} />
    </SettingsForm>
  )
}

function BandwidthForm ({ s, onSaved }: FormProps) {
  const [up, setUp] = useState(String(s.bandwidth.upload))
  const [down, setDown] = useState(String(s.bandwidth.download))
  const [windows, setWindows] = useState(s.bandwidth.windows.join('\n'))
  const rate = (n: number): string => n > 0 ? `${bytes(n)}/s` : 'unlimited'
  return (
    <SettingsForm id='bandwidth' title='Bandwidth' onSaved={onSaved} patch={() => ({ bandwidth: changed(s.bandwidth, { upload: num(up), download: num(down), windows: lines(windows) }) })}>
      <p class='hint' data-testid='bandwidth-active'>Applied now: upload {rate(s.bandwidth.active.upload)}, download {rate(s.bandwidth.active.download)}.</p>
      <Field id='bandwidth-upload' label='Upload limit (bytes per second)' hint='0: unlimited; or a size such as 512KiB' value={up} onInput={setUp} />
      <Field id='bandwidth-download' label='Download limit (bytes per second)' hint='0: unlimited; or a size such as 2MiB' value={down} onInput={setDown} />
      <div class='field wide'>
        <label for='bandwidth-windows'>Time windows, one per line</label>
        <textarea id='bandwidth-windows' rows={3} value={windows} onInput={e => setWindows((e.target as HTMLTextAreaElement).value)} aria-describedby='bandwidth-windows-hint' />
        <small id='bandwidth-windows-hint'>e.g. Mon-Fri 09:00-17:00 up=512KiB down=2MiB (the first window holding the time sets the limits)</small>
      </div>
    </SettingsForm>
  )
}

function NotificationsForm ({ s, onSaved }: FormProps) {
  const n = s.notifications
  const [when, setWhen] = useState(n.when)
  const [webhook, setWebhook] = useState('')
  const [dropWebhook, setDropWebhook] = useState(false)
  const [host, setHost] = useState(n.smtp.host)
  const [port, setPort] = useState(String(n.smtp.port))
  const [secure, setSecure] = useState(n.smtp.secure)
  const [user, setUser] = useState(n.smtp.user)
  const [passwordFile, setPasswordFile] = useState(n.smtp.passwordFile)
  const [from, setFrom] = useState(n.smtp.from)
  const [to, setTo] = useState(n.smtp.to.join(', '))
  const [test, setTest] = useState<{ ok: boolean, message: string }>()
  const [testing, setTesting] = useState(false)
  const patch = (): SettingsPatch => ({
    notifications: {
      ...changed(n, { when }),
      ...(dropWebhook ? { webhook: '' } : webhook.trim() !== '' ? { webhook: webhook.trim() } : {}),
      smtp: changed(n.smtp, { host: host.trim(), port: num(port), secure, user, passwordFile, from: from.trim(), to: to.split(',').map(a => a.trim()).filter(a => a !== '') })
    }
  })
  const sendTest = async (): Promise<void> => {
    setTesting(true)
    setTest(undefined)
    try { setTest(await settingsApi.testNotification()) } catch (err) { setTest({ ok: false, message: (err as Error).message }) } finally { setTesting(false) }
  }
  const testButton = (
    <>
      <button type='button' class='secondary' disabled={testing} onClick={() => { void sendTest() }}>{testing ? 'Sending...' : 'Send test'}</button>
      {test != null ? <span class={test.ok ? 'ok' : 'error'} role='status' data-testid='notification-test'>{test.ok ? `Test notification ${test.message}.` : `Test failed: ${test.message}`}</span> : null}
    </>
  )
  return (
    <SettingsForm id='notifications' title='Notifications' onSaved={onSaved} patch={patch} extra={testButton}>
      <div class='field'>
        <label for='notify-when'>Send a session summary</label>
        <select id='notify-when' value={when} onChange={e => setWhen((e.target as HTMLSelectElement).value as typeof when)}>
          <option value='never'>never</option>
          <option value='failure'>when a session fails</option>
          <option value='always'>after every session</option>
        </select>
      </div>
      <Field id='notify-webhook' label='Webhook URL' inputMode='url' value={webhook} onInput={setWebhook} hint={n.webhook.set ? `set (${n.webhook.origin ?? 'hidden'}); leave empty to keep it` : 'none; http(s) URL that receives the summary as JSON'} />
      {n.webhook.set ? <Check id='notify-webhook-remove' label='Remove the webhook' checked={dropWebhook} onChange={setDropWebhook} /> : null}
      <Field id='smtp-host' label='SMTP server' value={host} onInput={setHost} hint='empty: no e-mail' />
      <Field id='smtp-port' label='SMTP port' inputMode='numeric' value={port} onInput={setPort} />
      <Check id='smtp-secure' label='TLS from the start (port 465)' checked={secure} onChange={setSecure} />
      <Field id='smtp-user' label='SMTP user' value={user} onInput={setUser} hint='empty: no login' />
      <Field id='smtp-password-file' label='SMTP password file' value={passwordFile} onInput={setPasswordFile} hint={`the file holding the password, not the password itself${n.smtp.passwordSet ? ' (set)' : ''}`} />
      <Field id='smtp-from' label='From address' inputMode='email' value={from} onInput={setFrom} />
      <Field id='smtp-to' label='To addresses (comma separated)' value={to} onInput={setTo} />
    </SettingsForm>
  )
}

function VaultForm ({ s, onSaved }: FormProps) {
  const [vault, setVault] = useState(s.vault)
  return (
    <SettingsForm id='vault' title='Vault' onSaved={onSaved} patch={() => ({ vault: vault.trim() })}>
      <Field id='vault-dir' label='Speed vault directory' value={vault} onInput={setVault} hint='an absolute path on a local disk, read first by restores; empty: none' />
    </SettingsForm>
  )
}

function MaintenanceForm ({ s, onSaved }: FormProps) {
  const m = s.maintenance
  const [enabled, setEnabled] = useState(m.enabled)
  const [repair, setRepair] = useState(m.repair)
  const [threshold, setThreshold] = useState(String(m.repairThreshold))
  const [grace, setGrace] = useState(String(m.graceSeconds))
  const [period, setPeriod] = useState(String(m.auditPeriodSeconds))
  return (
    <SettingsForm id='maintenance' title='Maintenance' onSaved={onSaved} patch={() => ({ maintenance: changed(m, { enabled, repair, repairThreshold: num(threshold), graceSeconds: num(grace), auditPeriodSeconds: num(period) }) })}>
      <Check id='maintenance-enabled' label='Scheduled audits and repairs' checked={enabled} onChange={setEnabled} />
      <Check id='maintenance-repair' label='Repair lost shards automatically' checked={repair} onChange={setRepair} />
      <Field id='maintenance-threshold' label='Repair threshold (good shards)' inputMode='numeric' value={threshold} onInput={setThreshold} hint='repair a pack once fewer good shards than this remain; 0: automatic (at any loss below 3 parity shards, at the second from 3 on)' />
      <Field id='maintenance-grace' label='Grace for an offline host (seconds)' inputMode='numeric' value={grace} onInput={setGrace} />
      <Field id='maintenance-period' label='Audit every shard within (seconds)' inputMode='numeric' value={period} onInput={setPeriod} />
    </SettingsForm>
  )
}
