import type { BackupSet, Overview, PackHealthSummary, Peer, Session } from './api-schemas.js'

const HOUR = 3600_000

/** "2 h ago", "3 min ago", "5 days ago" */
export function ago (ms: number): string {
  if (ms < 90_000) return 'just now'
  if (ms < 90 * 60_000) return `${Math.round(ms / 60_000)} min ago`
  if (ms < 36 * HOUR) return `${Math.round(ms / HOUR)} h ago`
  return `${Math.round(ms / (24 * HOUR))} days ago`
}

/**
 * Is my data safe? The Overview's protection status (one sentence and a colour) and the warnings that
 * need the user, each with what fixes it, from the sets' last sessions and the peers (pure: the clock is
 * passed in).
 */
export function overviewOf (input: { sets: BackupSet[], peers: Peer[], recentSessions: Session[], packs?: PackHealthSummary | null, now: number, staleAfterMs?: number }): Overview {
  const { sets, now } = input
  const peers = input.peers.filter(p => !p.revoked)
  const online = peers.filter(p => p.online).length
  const warnings: Overview['warnings'] = []
  const staleAfter = input.staleAfterMs ?? 2 * 24 * HOUR
  const successes = sets.map(s => s.lastSuccess).filter((t): t is string => t != null).sort()
  const lastBackup = successes.length > 0 ? successes[successes.length - 1] : (input.recentSessions.find(s => s.kind !== 'restore' && (s.status === 'ok' || s.status === 'partial'))?.ended ?? null)
  let protectedSets = 0
  for (const s of sets) {
    const last = s.lastSession
    if (s.lastSuccess == null) warnings.push({ message: `Set "${s.name}" has never been backed up`, action: `Back up "${s.name}" now` })
    else if (now - Date.parse(s.lastSuccess) > staleAfter) warnings.push({ message: `Set "${s.name}" was last backed up ${ago(now - Date.parse(s.lastSuccess))}`, action: `Back up "${s.name}" now, and check its schedule` })
    else protectedSets++
    if (last != null && last.status === 'failed') warnings.push({ message: `The last backup of "${s.name}" failed: ${last.reason ?? 'see its session report'}`, action: 'Read the session report, fix the cause, back up again' })
    else if (last != null && last.status === 'partial') warnings.push({ message: `The last backup of "${s.name}" could not read ${last.errorsTotal} file${last.errorsTotal === 1 ? '' : 's'}`, action: 'Read the session report for the files and why' })
  }
  if (peers.length === 0) warnings.push({ message: 'No trusted peer keeps your backups', action: 'Pair with a friend: create an invite on the Peers page' })
  else if (online === 0) warnings.push({ message: 'None of your peers is online', action: 'Check this node\'s network; your peers may be off' })
  const offline = peers.filter(p => !p.online && p.lastSeen != null && now - Date.parse(p.lastSeen) > 24 * HOUR)
  for (const p of offline) warnings.push({ message: `${p.name} has been offline since ${ago(now - Date.parse(p.lastSeen!))}`, action: `Ask ${p.name} to check their node; repair moves their shards after the grace period` })
  for (const p of peers) if (p.quotaReceived > 0 && p.storesForMe > 0.9 * p.quotaReceived) warnings.push({ message: `${p.name} keeps ${Math.round(100 * p.storesForMe / p.quotaReceived)}% of the room they grant you`, action: `Ask ${p.name} for more room, or pair with another peer` })

  const packs = input.packs ?? null
  const below = packs != null ? packs.degraded + packs.critical : 0
  if (packs != null && packs.critical > 0) warnings.unshift({ message: `${packs.critical} of ${packs.total} packs are down to their last shards: one more loss and they cannot be restored`, action: 'Bring the offline peers back, and run a repair now (holdfast repair)' })
  if (packs != null && packs.degraded > 0) warnings.unshift({ message: `${packs.degraded} of ${packs.total} packs are missing shards (on peers offline now or lost); they can still be restored`, action: 'Bring the peers back online; a repair regenerates what a peer away past the grace period held, once a pack is below the repair threshold (Settings)' })
  const packPhrase = packs == null || packs.total === 0 ? '' : below === 0 ? `, every pack at ${packs.n}/${packs.n}` : `, ${below} of ${packs.total} packs below ${packs.n}/${packs.n}`

  let level: Overview['level'] = 'ok'
  let summary: string
  if (sets.length === 0) {
    level = 'warning'
    summary = lastBackup != null ? `No backup set configured; last backup ${ago(now - Date.parse(lastBackup))}` : 'No backup set configured yet'
  } else if (protectedSets === sets.length) {
    summary = `All ${sets.length} set${sets.length === 1 ? '' : 's'} ${below === 0 ? 'protected' : 'backed up'}, last backup ${lastBackup != null ? ago(now - Date.parse(lastBackup)) : 'never'}${packPhrase}, ${online} of ${peers.length} peer${peers.length === 1 ? '' : 's'} online`
  } else {
    level = protectedSets === 0 ? 'danger' : 'warning'
    summary = `${protectedSets} of ${sets.length} sets protected${lastBackup != null ? `, last backup ${ago(now - Date.parse(lastBackup))}` : ''}${packPhrase}`
  }
  if (packs != null && packs.critical > 0) level = 'danger'
  if (level === 'ok' && warnings.length > 0) level = 'warning'
  if (peers.length === 0) level = 'danger'
  return {
    level,
    summary,
    lastBackup,
    sets,
    peers: { trusted: peers.length, online },
    packs,
    space: {
      storedOnOthers: peers.reduce((n, p) => n + p.storesForMe, 0),
      givenToOthers: peers.reduce((n, p) => n + p.storedForThem, 0),
      grantedByOthers: peers.reduce((n, p) => n + p.quotaReceived, 0),
      grantedToOthers: peers.reduce((n, p) => n + p.quotaGranted, 0)
    },
    warnings,
    recentSessions: input.recentSessions
  }
}
