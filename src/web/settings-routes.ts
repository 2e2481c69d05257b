import { UsageError } from '../errors.js'
import type { ApiRoute } from './api-routes.js'
import type { NotificationTest, Settings, SettingsPatch, SettingsUpdate } from './settings-schemas.js'

/** The daemon's editable settings (daemon/settings-view.ts). */
export interface SettingsView {
  get: () => Promise<Settings>
  /** Writes the patch into node.json (ConfigError, and nothing written, when the result is invalid), then reloads. */
  update: (patch: SettingsPatch, signal: AbortSignal) => Promise<SettingsUpdate>
  /** Sends a test notification through the configured channels. */
  testNotification: (signal: AbortSignal) => Promise<NotificationTest>
}

/** The sections PUT /settings takes. */
export const SETTINGS_SECTIONS = ['retention', 'bandwidth', 'notifications', 'vault', 'maintenance'] as const

/** GET and PUT /settings, POST /settings/notifications/test (documented in settings-spec.ts). */
export function settingsRoutes (view: SettingsView): ApiRoute[] {
  return [
    { method: 'get', path: '/settings', handler: async () => await view.get() },
    {
      method: 'put',
      path: '/settings',
      handler: async ({ body, signal }) => await view.update(settingsPatch(body), signal)
    },
    { method: 'post', path: '/settings/notifications/test', handler: async ({ signal }) => await view.testNotification(signal) }
  ]
}

/** The body of PUT /settings: an object of known sections (their values are checked as node.json is). */
export function settingsPatch (body: unknown): SettingsPatch {
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new UsageError('the settings must be a JSON object')
  const unknown = Object.keys(body).filter(k => !(SETTINGS_SECTIONS as readonly string[]).includes(k))
  if (unknown.length > 0) throw new UsageError(`unknown settings section ${JSON.stringify(unknown[0])} (known: ${SETTINGS_SECTIONS.join(', ')})`)
  return body as SettingsPatch
}
