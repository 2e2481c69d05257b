import Type, { type Static } from 'typebox'

/**
 * The bodies of the settings and pairing routes (TypeBox): the node.json sections the dashboard edits,
 * as GET /settings shows them and PUT /settings takes them, and the invite, accept and test answers.
 */

const Rate = Type.Union([Type.Integer({ minimum: 0 }), Type.String()], { description: 'bytes per second (0: unlimited), or a size such as "2MiB"' })

export const RetentionSettings = Type.Object({
  last: Type.Integer(),
  hourly: Type.Integer(),
  daily: Type.Integer(),
  weekly: Type.Integer(),
  monthly: Type.Integer(),
  yearly: Type.Integer(),
  tags: Type.Array(Type.String()),
  prune: Type.Boolean(),
  orphanGraceSeconds: Type.Integer()
}, { description: 'snapshots kept after each scheduled session (-1: all of that kind; no rule: retention off)' })

export const MaintenanceSettings = Type.Object({
  enabled: Type.Boolean(),
  auditPeriodSeconds: Type.Integer(),
  tickSeconds: Type.Integer(),
  segments: Type.Integer(),
  challengesPerSecond: Type.Integer(),
  repair: Type.Boolean(),
  repairPacksPerTick: Type.Integer(),
  graceSeconds: Type.Integer(),
  repairThreshold: Type.Integer({ description: 'repair a pack once fewer good shards than this remain (0: automatic: any loss below 3 parity shards, the second loss from 3 on)' })
})

const Smtp = Type.Object({
  host: Type.String({ description: 'SMTP server; empty: no e-mail' }),
  port: Type.Integer(),
  secure: Type.Boolean(),
  user: Type.String(),
  passwordFile: Type.String({ description: 'the file holding the SMTP password (the password itself is never sent)' }),
  passwordSet: Type.Boolean({ description: 'whether a password file is configured' }),
  from: Type.String(),
  to: Type.Array(Type.String())
})

export const Settings = Type.Object({
  retention: RetentionSettings,
  bandwidth: Type.Object({
    upload: Type.Integer({ description: 'bytes per second, 0: unlimited' }),
    download: Type.Integer(),
    windows: Type.Array(Type.String(), { description: 'e.g. "Mon-Fri 09:00-17:00 up=512KiB down=2MiB"' }),
    active: Type.Object({ upload: Type.Integer(), download: Type.Integer() }, { description: 'the limits the daemon applies now (a window\'s when one holds)' })
  }),
  notifications: Type.Object({
    when: Type.Union([Type.Literal('never'), Type.Literal('failure'), Type.Literal('always')]),
    webhook: Type.Object({
      set: Type.Boolean(),
      origin: Type.Union([Type.String(), Type.Null()], { description: 'the webhook\'s scheme and host only (its path may hold a token)' })
    }),
    smtp: Smtp
  }),
  vault: Type.String({ description: 'directory of the local speed vault; empty: none' }),
  maintenance: MaintenanceSettings,
  afterRestart: Type.Array(Type.String(), { description: 'keys of node.json changed since the daemon started that take effect after a restart' })
}, { $id: 'Settings' })
export type Settings = Static<typeof Settings>

export const SettingsPatch = Type.Object({
  retention: Type.Optional(Type.Partial(RetentionSettings)),
  bandwidth: Type.Optional(Type.Partial(Type.Object({ upload: Rate, download: Rate, windows: Type.Array(Type.String()) }))),
  notifications: Type.Optional(Type.Partial(Type.Object({
    when: Type.Union([Type.Literal('never'), Type.Literal('failure'), Type.Literal('always')]),
    webhook: Type.String({ description: 'http(s) URL; empty: none' }),
    smtp: Type.Partial(Type.Omit(Smtp, ['passwordSet']))
  }))),
  vault: Type.Optional(Type.String()),
  maintenance: Type.Optional(Type.Partial(MaintenanceSettings))
}, { $id: 'SettingsPatch', description: 'the sections to change, each merged key by key into node.json and checked as the daemon checks the file' })
export type SettingsPatch = Static<typeof SettingsPatch>

export const SettingsUpdate = Type.Object({
  settings: Settings,
  appliedNow: Type.Array(Type.String(), { description: 'what the reload applied without a restart' }),
  afterRestart: Type.Array(Type.String(), { description: 'what takes effect after a restart' })
}, { $id: 'SettingsUpdate' })
export type SettingsUpdate = Static<typeof SettingsUpdate>

export const NotificationTest = Type.Object({
  ok: Type.Boolean(),
  message: Type.String({ description: 'where the test went, or why it failed' })
}, { $id: 'NotificationTest' })
export type NotificationTest = Static<typeof NotificationTest>

const Quota = Type.Union([Type.Integer({ minimum: 0 }), Type.String()], { description: 'bytes, or a size such as "10GiB"' })

export const InviteBody = Type.Object({
  quota: Quota,
  name: Type.Optional(Type.String({ description: 'what this node will call the peer that accepts' })),
  expirySeconds: Type.Optional(Type.Integer({ minimum: 1, description: 'default: inviteExpirySeconds of node.json' }))
})
export type InviteBody = Static<typeof InviteBody>

export const Invite = Type.Object({
  code: Type.String({ description: 'the one-line invite code to hand to the peer' }),
  expires: Type.String({ format: 'date-time' })
}, { $id: 'Invite' })
export type Invite = Static<typeof Invite>

export const AcceptBody = Type.Object({
  code: Type.String(),
  quota: Quota,
  name: Type.Optional(Type.String({ description: 'what this node will call the inviter' }))
})
export type AcceptBody = Static<typeof AcceptBody>
