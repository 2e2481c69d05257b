import Type from 'typebox'
import type { ApiOperation } from './api-spec.js'
import { DirListing, FsQuery, Removed, RunEvent, RunProgress, RunStarted, SetBody, SetConfig } from './backup-schemas.js'

/** The Backup page's operations: back up now, the runs under way and their events, cancel, set edits, the file-tree picker. */
export const BACKUP_SPEC: ApiOperation[] = [
  { method: 'post', path: '/sets/{name}/backup', tag: 'backup', summary: 'Starts a session of the set now (trigger manual); BusyError (409) while one of the set runs, PassphraseNeededError (423) while the repository is locked', response: RunStarted },
  { method: 'get', path: '/runs', tag: 'backup', summary: 'The sessions under way, with their latest progress', response: Type.Array(RunProgress) },
  { method: 'get', path: '/events', tag: 'backup', summary: 'Server-sent events: the progress of every session under way (phase, files, bytes, rate, ETA), then its end with the session report\'s status', response: RunEvent, produces: 'text/event-stream' },
  { method: 'post', path: '/runs/{id}/cancel', tag: 'backup', summary: 'Cancels a session under way: it ends failed with the reason "cancelled", and no snapshot', response: RunProgress },
  { method: 'post', path: '/sets', tag: 'backup', summary: 'Adds a backup set to node.json (checked as the daemon checks node.json: ConfigError with its text)', body: SetBody, response: SetConfig },
  { method: 'put', path: '/sets/{name}', tag: 'backup', summary: 'Changes a backup set in node.json (the fields given); BusyError (409) while a session runs', body: SetBody, response: SetConfig },
  { method: 'delete', path: '/sets/{name}', tag: 'backup', summary: 'Removes a backup set from node.json (its snapshots stay); BusyError (409) while a session runs', response: Removed },
  { method: 'get', path: '/fs', tag: 'backup', summary: 'The entries of a local directory for the file-tree picker: names and types, symlinks not followed, 2000 at most', query: FsQuery, response: DirListing }
]
