import { ProtocolError } from '../errors.js'
import { DEVICE_ROLES, type DeviceRole } from '../node/trust-list.js'

/**
 * The messages of /holdfast/device/1.0.0, each a length-prefixed CBOR map of at most MAX_DEVICE_MESSAGE
 * bytes; one request and one answer per stream, between trusted peers only:
 *
 *   device -> owner  {t:'bundle'}                            owner: {t:'bundle', ...} (what reading needs)
 *   owner -> host    {t:'grant', device, name, role}         host: {t:'ok'} (the device may read the owner's objects)
 *   owner -> host    {t:'revoke', device}                    host: {t:'ok'}
 *   any answer may be {t:'error', message}
 *
 * Anything else (unknown type, missing or extra field, wrong type or size) is a ProtocolError.
 */
export const DEVICE_PROTOCOL = '/holdfast/device/1.0.0'
export const MAX_DEVICE_MESSAGE = 96 * 1024
export const MAX_BUNDLE_HOSTS = 64
const MAX_ADDRS = 16

export interface BundleHost { peerId: string, name: string, site: string, addresses: string[] }

/** What a device gets from its owner: the repository's id, key file, sealed config, the key of the owner's placement records, and the hosts. */
export interface DeviceBundle {
  t: 'bundle'
  repository: string
  keyFile: Uint8Array
  repoConfig: Uint8Array
  recordKey: Uint8Array
  name: string
  site: string
  role: DeviceRole
  hosts: BundleHost[]
}

export interface BundleRequest { t: 'bundle' }
export interface GrantRequest { t: 'grant', device: string, name: string, role: DeviceRole }
export interface RevokeRequest { t: 'revoke', device: string }
export interface OkAnswer { t: 'ok' }
export interface ErrorAnswer { t: 'error', message: string }
export type DeviceRequest = BundleRequest | GrantRequest | RevokeRequest
export type DeviceAnswer = DeviceBundle | OkAnswer | ErrorAnswer

function fail (what: string): never { throw new ProtocolError(`device protocol: ${what}`) }

const str = (v: unknown, max: number, what: string): string => typeof v === 'string' && v.length > 0 && v.length <= max ? v : fail(`${what}: expected a string of 1 to ${max} characters`)
const peer = (v: unknown, what: string): string => typeof v === 'string' && /^[1-9A-HJ-NP-Za-km-z]{40,64}$/.test(v) ? v : fail(`${what}: expected a peer id`)
const bytes = (v: unknown, min: number, max: number, what: string): Uint8Array => v instanceof Uint8Array && v.length >= min && v.length <= max ? v : fail(`${what}: expected ${min} to ${max} bytes`)
const role = (v: unknown): DeviceRole => DEVICE_ROLES.includes(v as DeviceRole) ? v as DeviceRole : fail('role: unknown')

function fields (v: unknown, allowed: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v == null || Array.isArray(v) || v instanceof Uint8Array) fail('expected a map')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`unexpected field ${JSON.stringify(k.slice(0, 32))}`)
  for (const k of allowed) if (!(k in o)) fail(`missing field ${k}`)
  return o
}

export function parseDeviceRequest (v: unknown): DeviceRequest {
  const t = (v as { t?: unknown })?.t
  if (t === 'bundle') { fields(v, ['t']); return { t } }
  if (t === 'grant') { const o = fields(v, ['t', 'device', 'name', 'role']); return { t, device: peer(o.device, 'device'), name: str(o.name, 64, 'name'), role: role(o.role) } }
  if (t === 'revoke') { const o = fields(v, ['t', 'device']); return { t, device: peer(o.device, 'device') } }
  return fail('unknown request')
}

export function parseDeviceAnswer (v: unknown): DeviceAnswer {
  const t = (v as { t?: unknown })?.t
  if (t === 'ok') { fields(v, ['t']); return { t } }
  if (t === 'error') { const o = fields(v, ['t', 'message']); return { t, message: str(o.message, 1024, 'message') } }
  if (t === 'bundle') {
    const o = fields(v, ['t', 'repository', 'keyFile', 'repoConfig', 'recordKey', 'name', 'site', 'role', 'hosts'])
    if (typeof o.repository !== 'string' || !/^[0-9a-f]{32}$/.test(o.repository)) fail('repository: expected 32 hex digits')
    if (!Array.isArray(o.hosts) || o.hosts.length > MAX_BUNDLE_HOSTS) fail(`hosts: at most ${MAX_BUNDLE_HOSTS}`)
    const hosts = o.hosts.map((h, i) => {
      const f = fields(h, ['peerId', 'name', 'site', 'addresses'])
      if (!Array.isArray(f.addresses) || f.addresses.length > MAX_ADDRS) fail(`hosts[${i}].addresses: at most ${MAX_ADDRS}`)
      return { peerId: peer(f.peerId, `hosts[${i}].peerId`), name: str(f.name, 64, `hosts[${i}].name`), site: str(f.site, 64, `hosts[${i}].site`), addresses: f.addresses.map((a, j) => str(a, 256, `hosts[${i}].addresses[${j}]`)) }
    })
    return {
      t,
      repository: o.repository,
      keyFile: bytes(o.keyFile, 2, 64 * 1024, 'keyFile'),
      repoConfig: bytes(o.repoConfig, 16, 16 * 1024, 'repoConfig'),
      recordKey: bytes(o.recordKey, 32, 32, 'recordKey'),
      name: str(o.name, 64, 'name'),
      site: str(o.site, 64, 'site'),
      role: role(o.role),
      hosts
    }
  }
  return fail('unknown answer')
}
