import Type, { type Static } from 'typebox'

/** The bodies of the snapshot browser's routes (snapshot-routes.ts), as JSON Schema (TypeBox). */

export const SnapshotInfo = Type.Object({
  id: Type.String({ description: 'the snapshot\'s full id' }),
  short: Type.String({ description: 'its first 8 characters, as the CLI shows it' }),
  folder: Type.String({ description: 'its folder in the WebDAV view: time and short id, e.g. 2026-12-05T14-03-11_ab12cd34' }),
  time: Type.String({ format: 'date-time' }),
  host: Type.String(),
  username: Type.String(),
  paths: Type.Array(Type.String()),
  tags: Type.Array(Type.String()),
  set: Type.Union([Type.String(), Type.Null()], { description: 'the backup set whose session saved it, when the session log says' }),
  partial: Type.Boolean(),
  archived: Type.Boolean(),
  summary: Type.Object({
    files: Type.Integer(),
    bytes: Type.Integer(),
    filesNew: Type.Integer(),
    filesChanged: Type.Integer(),
    bytesAdded: Type.Integer(),
    durationMs: Type.Integer()
  })
}, { $id: 'SnapshotInfo' })
export type SnapshotInfo = Static<typeof SnapshotInfo>

export const SnapshotEntry = Type.Object({
  name: Type.String(),
  type: Type.Union([Type.Literal('file'), Type.Literal('dir'), Type.Literal('symlink')]),
  size: Type.Integer({ description: 'bytes (0 for a directory or symlink)' }),
  mtime: Type.String({ format: 'date-time' }),
  mode: Type.Integer(),
  target: Type.Optional(Type.String({ description: 'a symlink\'s target' }))
}, { $id: 'SnapshotEntry' })
export type SnapshotEntry = Static<typeof SnapshotEntry>

export const DirListing = Type.Object({
  snapshot: Type.String(),
  path: Type.String({ description: 'the directory, absolute' }),
  entries: Type.Array(SnapshotEntry),
  offset: Type.Integer(),
  total: Type.Integer({ description: 'entries in the directory' }),
  truncated: Type.Boolean({ description: 'more entries follow: ask again with offset' })
}, { $id: 'DirListing' })
export type DirListing = Static<typeof DirListing>

export const TreeQuery = Type.Object({
  path: Type.Optional(Type.String({ description: 'an absolute directory of the snapshot (default /)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 }))
})

export const PathQuery = Type.Object({ path: Type.String({ description: 'an absolute path of the snapshot' }) })

export const SearchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200, description: 'a part of a file name, or a glob (* ? [..]) matching a whole name; case-insensitive' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  snapshot: Type.Optional(Type.String({ description: 'search this snapshot only' }))
})

export const SearchResult = Type.Object({
  hits: Type.Array(Type.Object({
    snapshot: Type.String(),
    time: Type.String({ format: 'date-time', description: 'the snapshot\'s time' }),
    path: Type.String({ description: 'the entry\'s absolute path' }),
    ...SnapshotEntry.properties
  })),
  truncated: Type.Boolean({ description: 'the limit, or the bound on trees read, was reached' })
}, { $id: 'SearchResult' })
export type SearchResult = Static<typeof SearchResult>

export const VersionsQuery = Type.Object({
  path: Type.String({ description: 'an absolute file path' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'snapshots looked at, newest first (default 200)' }))
})

export const FileVersion = Type.Object({
  snapshot: Type.String(),
  time: Type.String({ format: 'date-time' }),
  size: Type.Integer(),
  mtime: Type.String({ format: 'date-time' }),
  changed: Type.Boolean({ description: 'its content differs from the next older version' })
}, { $id: 'FileVersion' })
export type FileVersion = Static<typeof FileVersion>

export const OverwritePolicy = Type.Union([Type.Literal('always'), Type.Literal('if-changed'), Type.Literal('if-newer'), Type.Literal('never')], { description: 'what to do with a file already in the target (as the CLI\'s restore --overwrite; default if-changed)' })

export const RestoreBody = Type.Object({
  snapshot: Type.String(),
  paths: Type.Array(Type.String(), { minItems: 1, maxItems: 100, description: 'absolute paths of the snapshot' }),
  target: Type.String({ description: '"original" (where they were backed up from) or an absolute folder, below which they go with their full paths' }),
  overwrite: Type.Optional(OverwritePolicy),
  verify: Type.Optional(Type.Boolean({ description: 'read every restored file back and check it' }))
})
export type RestoreBody = Static<typeof RestoreBody>

export const RestoreStarted = Type.Object({ id: Type.String() })

export const RestoreProgress = Type.Object({
  id: Type.String(),
  snapshot: Type.String(),
  paths: Type.Array(Type.String()),
  target: Type.String({ description: 'the folder restored into (/ for the original place)' }),
  state: Type.Union([Type.Literal('running'), Type.Literal('done'), Type.Literal('failed')], { description: 'done: finished (some files may have failed: see failed); failed: stopped by an error' }),
  started: Type.String({ format: 'date-time' }),
  ended: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  filesDone: Type.Integer(),
  filesTotal: Type.Integer(),
  bytesDone: Type.Integer(),
  bytesTotal: Type.Integer(),
  files: Type.Integer({ description: 'files restored' }),
  skipped: Type.Integer({ description: 'entries left as the target had them' }),
  failed: Type.Array(Type.Object({ path: Type.String(), reason: Type.String() }), { description: 'the first 100 entries not restored' }),
  failedTotal: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  session: Type.Union([Type.String(), Type.Null()], { description: 'its report in the session log, once written' })
}, { $id: 'RestoreProgress' })
export type RestoreProgress = Static<typeof RestoreProgress>

const Side = Type.Object({ files: Type.Integer(), dirs: Type.Integer(), symlinks: Type.Integer(), bytes: Type.Integer() })

/** GET /snapshots/{id}/diff?with=OTHER: what changed from OTHER to {id} (holdfast diff). */
export const DiffQuery = Type.Object({
  with: Type.String({ description: 'the snapshot compared from (its id or a prefix of 4 hex digits or more)' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 }))
})
export const DiffResult = Type.Object({
  from: Type.String(),
  to: Type.String(),
  summary: Type.Object({ added: Side, removed: Side, modified: Type.Integer(), typeChanged: Type.Integer(), metadata: Type.Integer() }),
  entries: Type.Array(Type.Object({
    path: Type.String(),
    change: Type.Union([Type.Literal('+'), Type.Literal('-'), Type.Literal('M'), Type.Literal('T'), Type.Literal('U')], { description: '+ added, - removed, M content, T type, U metadata only' }),
    type: Type.String(),
    size: Type.Optional(Type.Integer())
  })),
  truncated: Type.Boolean({ description: 'more changes than `limit`: the summary counts them all' })
}, { $id: 'DiffResult' })
export type DiffResult = Static<typeof DiffResult>

const Stats = {
  logicalBytes: Type.Integer(),
  chunks: Type.Integer(),
  uniqueBytes: Type.Integer(),
  storedBytes: Type.Integer(),
  dedupRatio: Type.Number()
}
/** GET /stats: per snapshot and for the repository (holdfast stats). */
export const StatsResult = Type.Object({
  snapshots: Type.Array(Type.Object({ snapshot: Type.String(), time: Type.String(), hostname: Type.String(), paths: Type.Array(Type.String()), files: Type.Integer(), dirs: Type.Integer(), exclusiveBytes: Type.Integer(), ...Stats }, { additionalProperties: true })),
  repository: Type.Object({ snapshots: Type.Integer(), compressedBytes: Type.Integer(), packs: Type.Integer(), compressionRatio: Type.Number(), ...Stats }, { additionalProperties: true })
}, { $id: 'StatsResult' })
export type StatsResult = Static<typeof StatsResult>
