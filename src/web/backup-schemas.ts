import Type, { type Static } from 'typebox'

/** The Backup page's bodies (runs under way, their events, set edits, the file-tree picker), as JSON Schema. */

export const RunProgress = Type.Object({
  id: Type.String({ description: 'the run\'s id, which its session report gets' }),
  set: Type.String(),
  trigger: Type.Union([Type.Literal('manual'), Type.Literal('schedule'), Type.Literal('catch-up'), Type.Literal('retry'), Type.Literal('watch')]),
  started: Type.String({ format: 'date-time' }),
  phase: Type.Union([Type.Literal('queued'), Type.Literal('scanning'), Type.Literal('backing up'), Type.Literal('uploading'), Type.Literal('finishing')]),
  filesDone: Type.Integer({ description: 'files read or found unchanged (while scanning: files found)' }),
  filesTotal: Type.Union([Type.Integer(), Type.Null()], { description: 'null until the scan is over' }),
  bytesDone: Type.Integer(),
  bytesTotal: Type.Union([Type.Integer(), Type.Null()]),
  bytesStored: Type.Integer({ description: 'bytes sent to the stores so far' }),
  percent: Type.Union([Type.Number({ minimum: 0, maximum: 100 }), Type.Null()]),
  rate: Type.Number({ description: 'bytes read per second since reading began' }),
  etaSeconds: Type.Union([Type.Integer(), Type.Null()]),
  cancelling: Type.Boolean()
}, { $id: 'RunProgress' })
export type RunProgress = Static<typeof RunProgress>

export const RunStarted = Type.Object({ id: Type.String({ description: 'the run, in /runs and the events, and its session report\'s id' }) }, { $id: 'RunStarted' })
export type RunStarted = Static<typeof RunStarted>

export const RunEnded = Type.Object({
  run: RunProgress,
  session: Type.Object({
    id: Type.String(),
    status: Type.Union([Type.Literal('ok'), Type.Literal('partial'), Type.Literal('failed'), Type.Literal('skipped')]),
    reason: Type.Optional(Type.String()),
    snapshot: Type.Optional(Type.String())
  })
}, { $id: 'RunEnded' })
export type RunEnded = Static<typeof RunEnded>

export const RunEvent = Type.Union([
  Type.Object({ type: Type.Literal('run:progress'), run: RunProgress }),
  Type.Object({ type: Type.Literal('run:end'), run: RunProgress, session: RunEnded.properties.session })
], { $id: 'RunEvent', description: 'server-sent events: `event: run:progress` (at most 4 a second per run, and at each change of phase) and `event: run:end`, each with this JSON as data' })
export type RunEvent = Static<typeof RunEvent>

export const SetBody = Type.Object({
  name: Type.Optional(Type.String({ description: 'needed to add a set; a set is not renamed' })),
  paths: Type.Optional(Type.Array(Type.String())),
  exclude: Type.Optional(Type.Array(Type.String())),
  schedule: Type.Optional(Type.String({ description: 'cron expression; "": none' })),
  watch: Type.Optional(Type.Boolean()),
  minAgeSeconds: Type.Optional(Type.Integer()),
  rescanSeconds: Type.Optional(Type.Integer()),
  ping: Type.Optional(Type.String({ description: 'healthchecks-style URL; "": none' })),
  standby: Type.Optional(Type.String({ description: 'a folder kept equal to the set\'s latest snapshot (absolute path); "": none' }))
}, { $id: 'SetBody', description: 'checked as node.json is: a ConfigError names the key at fault' })
export type SetBody = Static<typeof SetBody>

export const SetConfig = Type.Object({
  name: Type.String(),
  paths: Type.Array(Type.String()),
  command: Type.Optional(Type.Array(Type.String(), { description: 'the command whose output the set stores as /NAME (node.json only: not settable here)' })),
  exclude: Type.Array(Type.String()),
  schedule: Type.String(),
  watch: Type.Boolean(),
  minAgeSeconds: Type.Integer(),
  rescanSeconds: Type.Integer(),
  ping: Type.String(),
  standby: Type.Optional(Type.String({ description: 'a folder the daemon keeps equal to the set\'s latest snapshot (absolute path)' }))
}, { $id: 'SetConfig' })
export type SetConfig = Static<typeof SetConfig>

export const FsQuery = Type.Object({ path: Type.Optional(Type.String({ description: 'an absolute path (default /)' })) })

export const DirListing = Type.Object({
  path: Type.String(),
  entries: Type.Array(Type.Object({ name: Type.String(), type: Type.Union([Type.Literal('dir'), Type.Literal('file'), Type.Literal('link'), Type.Literal('other')]) })),
  truncated: Type.Boolean({ description: 'more than 2000 entries: the first ones read are listed' })
}, { $id: 'DirListing' })
export type DirListing = Static<typeof DirListing>

export const Removed = Type.Object({ removed: Type.String() }, { $id: 'Removed' })
