import Type from 'typebox'
import type { ApiOperation } from './api-spec.js'
import { DiffQuery, DiffResult, DirListing, FileVersion, PathQuery, RestoreBody, RestoreProgress, RestoreStarted, SearchQuery, SearchResult, SnapshotInfo, StatsResult, TreeQuery, VersionsQuery } from './snapshot-schemas.js'

/** The snapshot browser's routes (snapshot-routes.ts), as documented. */
export const SNAPSHOT_SPEC: ApiOperation[] = [
  { method: 'get', path: '/snapshots', tag: 'restore', summary: 'The snapshots, newest first (needs the passphrase: 423 until unlocked)', response: Type.Array(SnapshotInfo) },
  { method: 'get', path: '/snapshots/{id}/diff', tag: 'restore', summary: 'What changed from the snapshot `with` to this one (added, removed, content, type, metadata), as holdfast diff', query: DiffQuery, response: DiffResult },
  { method: 'get', path: '/stats', tag: 'restore', summary: 'Per snapshot and for the repository: files, logical, unique and stored bytes, the dedup ratio, as holdfast stats', response: StatsResult },
  { method: 'get', path: '/snapshots/{id}/tree', tag: 'restore', summary: 'One directory of a snapshot: its entries, a page at a time', query: TreeQuery, response: DirListing },
  { method: 'get', path: '/search', tag: 'restore', summary: 'File and folder names matching a part or a glob, across snapshots (newest first; bounded)', query: SearchQuery, response: SearchResult },
  { method: 'get', path: '/versions', tag: 'restore', summary: 'A file\'s versions across snapshots, newest first, and whether its content changed', query: VersionsQuery, response: Type.Array(FileVersion) },
  { method: 'get', path: '/snapshots/{id}/file', tag: 'restore', summary: 'Downloads a file of a snapshot: its bytes as they are fetched from any k of n shards and verified', query: PathQuery, response: Type.String({ contentMediaType: 'application/octet-stream' }), produces: 'application/octet-stream' },
  { method: 'get', path: '/snapshots/{id}/archive', tag: 'restore', summary: 'Downloads a folder of a snapshot as a zip, streamed, each file verified as it is read', query: Type.Object({ path: Type.Optional(Type.String({ description: 'an absolute folder of the snapshot (default /)' })) }), response: Type.String({ contentMediaType: 'application/zip' }), produces: 'application/zip' },
  { method: 'post', path: '/restores', tag: 'restore', summary: 'Starts restoring paths of a snapshot to their original place or below another folder (a backup waits meanwhile); logged as a restore session', body: RestoreBody, response: RestoreStarted },
  { method: 'get', path: '/restores/{id}', tag: 'restore', summary: 'A restore\'s progress and outcome', response: RestoreProgress },
  { method: 'get', path: '/restores/{id}/events', tag: 'restore', summary: 'A restore\'s progress as server-sent events: `progress` every half second while it runs, then `end`; each event\'s data is the RestoreProgress JSON', response: Type.String({ description: 'text/event-stream' }), produces: 'text/event-stream' }
]
