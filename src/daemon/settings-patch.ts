import type { RawNodeConfig } from '../config/write-node-config.js'
import type { SettingsPatch } from '../web/settings-schemas.js'

/**
 * node.json as written, with the dashboard's patch merged in section by section, key by key (the
 * notifications go to backup.notify, the SMTP keys to backup.notify.smtp). Pure: whatever the values,
 * the caller checks the result as the daemon checks the file (updateNodeConfig), so a wrong value gets
 * the very text a start on such a file would print. A section that is not an object is written as it
 * is, for that check to name it.
 */
export function applySettingsPatch (raw: RawNodeConfig, patch: SettingsPatch): RawNodeConfig {
  const out: RawNodeConfig = { ...raw }
  for (const key of ['retention', 'bandwidth', 'maintenance'] as const) {
    const merged = patch[key] !== undefined ? merge(raw[key], patch[key]) : undefined
    if (merged !== undefined) out[key] = merged
  }
  if (patch.vault !== undefined) out.vault = patch.vault
  const n = patch.notifications as unknown
  if (n !== undefined) {
    const backup = isObject(raw.backup) ? { ...raw.backup } : {}
    if (!isObject(n)) backup.notify = n
    else {
      const { smtp, ...rest } = n
      let notify = merge(backup.notify, rest)
      const mail = smtp !== undefined ? merge(isObject(notify) ? notify.smtp : undefined, smtp) : undefined
      if (mail !== undefined) notify = { ...(isObject(notify) ? notify : {}), smtp: mail }
      if (notify !== undefined) backup.notify = notify
    }
    if (backup.notify !== undefined) out.backup = backup
  }
  return out
}

function isObject (v: unknown): v is Record<string, unknown> {
  return v != null && typeof v === 'object' && !Array.isArray(v)
}

function merge (current: unknown, change: unknown): unknown {
  if (!isObject(change)) return change
  if (Object.keys(change).length === 0) return current // nothing changed: the file keeps what it had (or lacked)
  return { ...(isObject(current) ? current : {}), ...change }
}
