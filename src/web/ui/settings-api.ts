import type { NotificationTest, Settings, SettingsPatch, SettingsUpdate } from '../settings-schemas.js'
import { get, send } from './api.js'

/** The Settings page's calls (settings-routes.ts). */
export const settingsApi = {
  get: async (signal?: AbortSignal) => await get<Settings>('/settings', signal),
  update: async (patch: SettingsPatch) => await send<SettingsUpdate>('PUT', '/settings', patch),
  testNotification: async () => await send<NotificationTest>('POST', '/settings/notifications/test')
}

export type { NotificationTest, Settings, SettingsPatch, SettingsUpdate }
