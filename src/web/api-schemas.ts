import Type, { type Static } from 'typebox'

/**
 * The REST API's bodies, as JSON Schema (TypeBox): one definition gives the OpenAPI document's schemas,
 * the checks the tests make on live answers, and the TypeScript types the server and the dashboard share.
 */

export const ErrorBody = Type.Object({
  error: Type.Object({
    name: Type.String({ description: 'the error class, e.g. UsageError' }),
    message: Type.String(),
    exitCode: Type.Integer({ description: 'what the CLI would exit with' })
  })
}, { $id: 'Error' })
export type ErrorBody = Static<typeof ErrorBody>

export const Status = Type.Object({
  peerId: Type.String(),
  name: Type.String({ description: 'this node\'s name' }),
  site: Type.String(),
  version: Type.String(),
  addresses: Type.Array(Type.String(), { description: 'multiaddrs this node listens on' }),
  startedAt: Type.String({ format: 'date-time' }),
  peers: Type.Integer({ description: 'trusted peers (revoked ones aside)' }),
  peersOnline: Type.Integer()
}, { $id: 'Status' })
export type Status = Static<typeof Status>

export const Peer = Type.Object({
  peerId: Type.String(),
  name: Type.String(),
  site: Type.String(),
  online: Type.Boolean(),
  via: Type.Union([Type.Literal('direct'), Type.Literal('relay'), Type.Null()], { description: 'how the peer is reached now' }),
  lastSeen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked: Type.Boolean(),
  quotaGranted: Type.Integer({ description: 'bytes this node grants the peer' }),
  quotaReceived: Type.Integer({ description: 'bytes the peer grants this node' }),
  storedForThem: Type.Integer({ description: 'bytes this node keeps for the peer' }),
  storesForMe: Type.Integer({ description: 'bytes the peer keeps for this node' })
}, { $id: 'Peer' })
export type Peer = Static<typeof Peer>

export const SessionCounts = Type.Object({
  filesNew: Type.Integer(),
  filesChanged: Type.Integer(),
  filesUnchanged: Type.Integer(),
  dirs: Type.Integer(),
  errors: Type.Integer()
})

export const Session = Type.Object({
  id: Type.String(),
  kind: Type.Optional(Type.Union([Type.Literal('backup'), Type.Literal('restore')], { description: 'absent: a backup' })),
  target: Type.Optional(Type.String({ description: 'a restore\'s target folder (/ for the original place)' })),
  restored: Type.Optional(Type.Object({ files: Type.Integer(), dirs: Type.Integer(), symlinks: Type.Integer(), bytes: Type.Integer(), skipped: Type.Integer() }, { description: 'a restore\'s figures' })),
  set: Type.Optional(Type.String()),
  trigger: Type.Union([Type.Literal('manual'), Type.Literal('schedule'), Type.Literal('catch-up'), Type.Literal('retry'), Type.Literal('watch')]),
  status: Type.Union([Type.Literal('ok'), Type.Literal('partial'), Type.Literal('failed'), Type.Literal('skipped')]),
  reason: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  due: Type.Optional(Type.String()),
  attempt: Type.Optional(Type.Integer()),
  nextRetry: Type.Optional(Type.String()),
  paths: Type.Array(Type.String()),
  started: Type.String({ format: 'date-time' }),
  ended: Type.String({ format: 'date-time' }),
  snapshot: Type.Optional(Type.String()),
  counts: SessionCounts,
  bytesRead: Type.Integer(),
  bytesAdded: Type.Integer(),
  bytesStored: Type.Integer(),
  deferred: Type.Optional(Type.Integer()),
  warnings: Type.Array(Type.Object({ path: Type.Optional(Type.String()), message: Type.String() })),
  errors: Type.Array(Type.Object({ path: Type.Optional(Type.String()), message: Type.String() })),
  warningsTotal: Type.Integer(),
  errorsTotal: Type.Integer()
}, { $id: 'Session' })
export type Session = Static<typeof Session>

export const BackupSet = Type.Object({
  name: Type.String(),
  paths: Type.Array(Type.String()),
  schedule: Type.Union([Type.String(), Type.Null()], { description: 'cron expression' }),
  watch: Type.Boolean(),
  exclude: Type.Optional(Type.Array(Type.String(), { description: 'the set\'s exclude patterns' })),
  ping: Type.Optional(Type.String({ description: 'the set\'s healthchecks ping URL ("": none)' })),
  standby: Type.Optional(Type.String({ description: 'the folder the daemon keeps equal to the set\'s latest snapshot' })),
  command: Type.Optional(Type.Array(Type.String(), { description: 'the command whose output the set stores (instead of paths)' })),
  nextRun: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastSession: Type.Union([Session, Type.Null()]),
  lastSuccess: Type.Union([Type.String({ format: 'date-time' }), Type.Null()])
}, { $id: 'BackupSet' })
export type BackupSet = Static<typeof BackupSet>

export const PackHealthSummary = Type.Object({
  total: Type.Integer(),
  /** every shard on a peer online now, none lost */
  full: Type.Integer(),
  /** some shards away or lost, more than k left */
  degraded: Type.Integer(),
  /** k or fewer left: one more loss and the pack cannot be restored */
  critical: Type.Integer(),
  /** shards per pack (k + m; the largest when packs differ) */
  n: Type.Integer()
}, { $id: 'PackHealth', description: 'the packs by the shards reachable now' })
export type PackHealthSummary = Static<typeof PackHealthSummary>

export const Overview = Type.Object({
  level: Type.Union([Type.Literal('ok'), Type.Literal('warning'), Type.Literal('danger')], { description: 'the colour of the protection status' }),
  summary: Type.String({ description: 'the protection status in one sentence' }),
  lastBackup: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  sets: Type.Array(BackupSet),
  peers: Type.Object({ trusted: Type.Integer(), online: Type.Integer() }),
  packs: Type.Union([PackHealthSummary, Type.Null()], { description: 'null when the register cannot be read now, or the repository is not on peers' }),
  space: Type.Object({
    storedOnOthers: Type.Integer({ description: 'bytes peers keep for this node' }),
    givenToOthers: Type.Integer({ description: 'bytes this node keeps for peers' }),
    grantedByOthers: Type.Integer({ description: 'quota peers grant this node' }),
    grantedToOthers: Type.Integer({ description: 'quota this node grants peers' })
  }),
  warnings: Type.Array(Type.Object({ message: Type.String(), action: Type.String({ description: 'what fixes it' }) })),
  recentSessions: Type.Array(Session)
}, { $id: 'Overview' })
export type Overview = Static<typeof Overview>

export const SessionsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  set: Type.Optional(Type.String())
})

export const AccessState = Type.Object({
  state: Type.Union([Type.Literal('configured'), Type.Literal('unlocked'), Type.Literal('locked')], {
    description: 'configured: the daemon has a passphrase of its own (backup.passphraseFile, $HOLDFAST_PASSPHRASE); unlocked: one was given here and is kept a while; locked: browsing, restores and "Back up now" need it'
  })
}, { $id: 'AccessState' })
export type AccessState = Static<typeof AccessState>

export const UnlockBody = Type.Object({ passphrase: Type.String({ minLength: 1, maxLength: 4096 }) })
export type UnlockBody = Static<typeof UnlockBody>

export const LogEntry = Type.Object({
  time: Type.String({ format: 'date-time' }),
  level: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('error')]),
  message: Type.String()
}, { $id: 'LogEntry' })
export type LogEntry = Static<typeof LogEntry>

export const LogQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  level: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('error')], { description: 'the least level shown' }))
})
