import Type from 'typebox'
import type { ApiOperation } from './api-spec.js'
import { DeviceLink, DeviceLinkBody, DeviceRow, KeyAddBody, KeyChangeAnswer, KeyList, KeyPasswdBody, PassphraseBody } from './key-schemas.js'

/** The keys and devices routes (key-routes.ts). */
export const KEY_SPEC: ApiOperation[] = [
  { method: 'get', path: '/keys', tag: 'keys', summary: 'The repository\'s keys (passphrases): id, label, creation date', response: KeyList },
  { method: 'post', path: '/keys/add', tag: 'keys', summary: 'Adds a key: the new passphrase opens the repository too (the current one authorises it; WrongPassphraseError 403)', body: KeyAddBody, response: KeyChangeAnswer },
  { method: 'post', path: '/keys/passwd', tag: 'keys', summary: 'Changes the passphrase given: the new key is checked before the old one is removed', body: KeyPasswdBody, response: KeyChangeAnswer },
  { method: 'post', path: '/keys/rotate', tag: 'keys', summary: 'New data keys for what is written from now on (refused while other keys exist)', body: PassphraseBody, response: KeyChangeAnswer },
  { method: 'post', path: '/keys/{id}/remove', tag: 'keys', summary: 'Removes another key than the one the passphrase opens; never the last', body: PassphraseBody, response: KeyChangeAnswer },
  { method: 'get', path: '/devices', tag: 'devices', summary: 'This owner\'s second devices (read access), and how many hosts know of each', response: Type.Array(DeviceRow) },
  { method: 'post', path: '/devices/link', tag: 'devices', summary: 'A one-time code for holdfast device join on another machine of this owner', body: DeviceLinkBody, response: DeviceLink },
  { method: 'post', path: '/devices/{peerId}/revoke', tag: 'devices', summary: 'Revokes a device here and on the hosts', body: Type.Object({}), response: DeviceRow }
]
