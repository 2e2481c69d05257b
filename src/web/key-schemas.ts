import Type, { type Static } from 'typebox'

/** The shapes of the keys and devices routes (key-routes.ts). */
export const KeyInfo = Type.Object({
  id: Type.String(),
  label: Type.String(),
  created: Type.String(),
  legacy: Type.Boolean({ description: 'made before keys had labels' })
}, { $id: 'KeyInfo' })

export const KeyList = Type.Object({ generation: Type.Integer(), keys: Type.Array(KeyInfo) }, { $id: 'KeyList' })
export type KeyList = Static<typeof KeyList>

export const KeyChangeAnswer = Type.Object({
  generation: Type.Integer(),
  keys: Type.Array(KeyInfo),
  added: Type.Optional(KeyInfo),
  removed: Type.Optional(KeyInfo),
  epochs: Type.Integer({ description: 'key epochs: rotate adds one' }),
  storesUpdated: Type.Integer(),
  storeProblems: Type.Array(Type.String())
}, { $id: 'KeyChange' })
export type KeyChangeAnswer = Static<typeof KeyChangeAnswer>

export const KeyAddBody = Type.Object({ passphrase: Type.String(), newPassphrase: Type.String(), label: Type.Optional(Type.String({ maxLength: 100 })) })
export const KeyPasswdBody = Type.Object({ passphrase: Type.String(), newPassphrase: Type.String() })
export const PassphraseBody = Type.Object({ passphrase: Type.String() })

export const DeviceRow = Type.Object({
  peerId: Type.String(),
  name: Type.String(),
  role: Type.String(),
  addedAt: Type.String(),
  online: Type.Boolean(),
  revoked: Type.Boolean(),
  hostsTold: Type.Integer({ description: 'hosts told so far that the device may read this node\'s objects' })
}, { $id: 'Device' })
export type DeviceRow = Static<typeof DeviceRow>

export const DeviceLinkBody = Type.Object({ name: Type.Optional(Type.String({ maxLength: 64 })), expirySeconds: Type.Optional(Type.Integer({ minimum: 1 })) })
export const DeviceLink = Type.Object({ code: Type.String({ description: 'the one-time code for holdfast device join' }) }, { $id: 'DeviceLink' })
export type DeviceLink = Static<typeof DeviceLink>
