import Type from 'typebox'
import type { ApiOperation } from './api-spec.js'
import { NotificationTest, Settings, SettingsPatch, SettingsUpdate } from './settings-schemas.js'

/** The settings routes (settings-routes.ts). */
export const SETTINGS_SPEC: ApiOperation[] = [
  { method: 'get', path: '/settings', tag: 'settings', summary: 'The settings the dashboard edits (retention, bandwidth, notifications, vault, maintenance) as the daemon runs them, and what changed that needs a restart', response: Settings },
  { method: 'put', path: '/settings', tag: 'settings', summary: 'Changes some sections of node.json (checked as the daemon checks the file: ConfigError 400 and nothing written when invalid), then reloads it', body: SettingsPatch, response: SettingsUpdate },
  { method: 'post', path: '/settings/notifications/test', tag: 'settings', summary: 'Sends a test notification through the configured channels (e-mail, webhook): ok, or the error', body: Type.Object({}), response: NotificationTest }
]
