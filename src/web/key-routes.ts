import { UsageError } from '../errors.js'
import type { ApiRoute } from './api-routes.js'
import type { DeviceLink, DeviceRow, KeyChangeAnswer, KeyList } from './key-schemas.js'

/** The repository's keys and this owner's devices, from the dashboard (daemon: repository/home-keys.ts, device/). */
export interface KeyView {
  list: () => Promise<KeyList>
  add: (passphrase: string, newPassphrase: string, label: string | undefined) => Promise<KeyChangeAnswer>
  remove: (passphrase: string, id: string) => Promise<KeyChangeAnswer>
  passwd: (passphrase: string, newPassphrase: string) => Promise<KeyChangeAnswer>
  rotate: (passphrase: string) => Promise<KeyChangeAnswer>
  devices: () => Promise<DeviceRow[]>
  link: (name: string | undefined, expirySeconds: number | undefined) => Promise<DeviceLink>
  revokeDevice: (peerId: string) => Promise<DeviceRow>
}

/** GET /keys, POST /keys/add|passwd|rotate, /keys/{id}/remove; GET /devices, POST /devices/link, /devices/{peerId}/revoke (key-spec.ts). */
export function keyRoutes (view: KeyView): ApiRoute[] {
  return [
    { method: 'get', path: '/keys', handler: async () => await view.list() },
    { method: 'post', path: '/keys/add', handler: async ({ body }) => { const b = obj(body); return await view.add(secret(b.passphrase, 'passphrase'), secret(b.newPassphrase, 'newPassphrase'), optText(b.label, 'label')) } },
    { method: 'post', path: '/keys/passwd', handler: async ({ body }) => { const b = obj(body); return await view.passwd(secret(b.passphrase, 'passphrase'), secret(b.newPassphrase, 'newPassphrase')) } },
    { method: 'post', path: '/keys/rotate', handler: async ({ body }) => await view.rotate(secret(obj(body).passphrase, 'passphrase')) },
    { method: 'post', path: '/keys/{id}/remove', handler: async ({ params, body }) => await view.remove(secret(obj(body).passphrase, 'passphrase'), params.id) },
    { method: 'get', path: '/devices', handler: async () => await view.devices() },
    {
      method: 'post',
      path: '/devices/link',
      handler: async ({ body }) => {
        const b = obj(body)
        const expiry = b.expirySeconds
        if (expiry != null && (typeof expiry !== 'number' || !Number.isInteger(expiry) || expiry <= 0)) throw new UsageError('expirySeconds must be a positive whole number of seconds')
        return await view.link(optText(b.name, 'name'), expiry as number | undefined)
      }
    },
    { method: 'post', path: '/devices/{peerId}/revoke', handler: async ({ params }) => await view.revokeDevice(params.peerId) }
  ]
}

function obj (body: unknown): Record<string, unknown> {
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new UsageError('the body must be a JSON object')
  return body as Record<string, unknown>
}

function secret (v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw new UsageError(`${name} is needed`)
  if (v.length > 1024) throw new UsageError(`${name} is too long`)
  return v
}

function optText (v: unknown, name: string): string | undefined {
  if (v == null || v === '') return undefined
  if (typeof v !== 'string' || v.length > 100) throw new UsageError(`${name} must be text of at most 100 characters`)
  return v.trim() === '' ? undefined : v.trim()
}
