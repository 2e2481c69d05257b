import type { DeviceLink, DeviceRow, KeyChangeAnswer, KeyList } from '../key-schemas.js'
import { get, send } from './api.js'

/** The keys and devices calls (key-routes.ts). */
export const keyApi = {
  list: async (signal?: AbortSignal) => await get<KeyList>('/keys', signal),
  add: async (passphrase: string, newPassphrase: string, label?: string) => await send<KeyChangeAnswer>('POST', '/keys/add', { passphrase, newPassphrase, ...(label != null && label !== '' ? { label } : {}) }),
  passwd: async (passphrase: string, newPassphrase: string) => await send<KeyChangeAnswer>('POST', '/keys/passwd', { passphrase, newPassphrase }),
  rotate: async (passphrase: string) => await send<KeyChangeAnswer>('POST', '/keys/rotate', { passphrase }),
  remove: async (id: string, passphrase: string) => await send<KeyChangeAnswer>('POST', `/keys/${encodeURIComponent(id)}/remove`, { passphrase }),
  devices: async (signal?: AbortSignal) => await get<DeviceRow[]>('/devices', signal),
  link: async (name?: string) => await send<DeviceLink>('POST', '/devices/link', name != null && name !== '' ? { name } : {}),
  revokeDevice: async (peerId: string) => await send<DeviceRow>('POST', `/devices/${encodeURIComponent(peerId)}/revoke`)
}

export type { DeviceRow, KeyChangeAnswer, KeyList }
