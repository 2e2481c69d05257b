import type { ApiRoute } from './api-routes.js'
import { daemonRoutes, type DaemonView } from './daemon-routes.js'
import { accessRoutes, type AccessView } from './access-routes.js'
import { snapshotRoutes, type SnapshotView } from './snapshot-routes.js'
import { backupRoutes, type BackupView } from './backup-routes.js'
import { settingsRoutes, type SettingsView } from './settings-routes.js'
import { peerActionRoutes, type PeerActionView } from './peer-routes.js'
import { fleetRoutes, type FleetView } from './fleet-routes.js'
import { keyRoutes, type KeyView } from './key-routes.js'

/** What each part of the REST API reads from and asks of the daemon. */
export interface WebViews {
  daemon: DaemonView
  access: AccessView
  snapshots: SnapshotView
  backup: BackupView
  settings: SettingsView
  peerActions: PeerActionView
  fleet: FleetView
  keys: KeyView
}

/** Every route of the REST API (each part's routes in its own file; api-spec.ts documents them all). */
export function webRoutes (views: WebViews, now: () => number = Date.now): ApiRoute[] {
  return [
    ...daemonRoutes(views.daemon, now),
    ...accessRoutes(views.access),
    ...snapshotRoutes(views.snapshots),
    ...backupRoutes(views.backup),
    ...settingsRoutes(views.settings),
    ...peerActionRoutes(views.peerActions),
    ...fleetRoutes(views.fleet),
    ...keyRoutes(views.keys)
  ]
}
