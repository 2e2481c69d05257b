import { useState } from 'preact/hooks'
import { snapshotApi, type DiffResult, type StatsResult } from './snapshot-api.js'
import { bytes } from './format.js'

/**
 * Two questions on the Restore page: what changed in this snapshot since the one before it (holdfast
 * diff), and how much each snapshot and the repository hold and take (holdfast stats).
 */
export function SnapshotInsights ({ snapshot, previous }: { snapshot: string, previous?: string }) {
  const [diff, setDiff] = useState<DiffResult>()
  const [stats, setStats] = useState<StatsResult>()
  const [error, setError] = useState<string>()
  const load = async <T,>(fn: () => Promise<T>, set: (v: T) => void): Promise<void> => {
    setError(undefined)
    try { set(await fn()) } catch (err) { setError((err as Error).message) }
  }
  const s = diff?.summary
  return (
    <section class='card' aria-labelledby='insights-title' data-testid='insights'>
      <h2 id='insights-title'>Changes and statistics</h2>
      <div class='actions'>
        <button type='button' class='secondary' disabled={previous == null} onClick={() => { void load(async () => await snapshotApi.diff(snapshot, previous!), setDiff) }}>What changed since the snapshot before</button>
        <button type='button' class='secondary' onClick={() => { void load(async () => await snapshotApi.stats(), setStats) }}>Repository statistics</button>
      </div>
      {error != null ? <p class='error' role='alert'>{error}</p> : null}
      {diff != null && s != null
        ? (
          <div data-testid='diff'>
            <p>{s.added.files} file(s) added ({bytes(s.added.bytes)}), {s.removed.files} removed, {s.modified} changed, {s.metadata} with new metadata only{s.typeChanged > 0 ? `, ${s.typeChanged} of another type` : ''}.</p>
            <ul class='diff'>{diff.entries.map(e => <li key={e.path}><code>{e.change}</code> {e.path}{e.size != null ? ` (${bytes(e.size)})` : ''}</li>)}</ul>
            {diff.truncated ? <p><small>The first {diff.entries.length} changes are listed.</small></p> : null}
          </div>
          )
        : null}
      {stats != null
        ? (
          <div class='scroll' data-testid='stats'>
            <p>{stats.repository.snapshots} snapshot(s): {bytes(stats.repository.logicalBytes)} restorable, {bytes(stats.repository.uniqueBytes)} unique, {bytes(stats.repository.storedBytes)} stored with parity; deduplication {stats.repository.dedupRatio.toFixed(2)}x, compression {stats.repository.compressionRatio.toFixed(2)}x.</p>
            <table>
              <thead><tr><th scope='col'>Snapshot</th><th scope='col'>Files</th><th scope='col'>Size</th><th scope='col'>Unique</th><th scope='col'>Only here</th></tr></thead>
              <tbody>{stats.snapshots.map(x => <tr key={x.snapshot}><td class='mono'>{x.snapshot.slice(0, 8)}</td><td>{x.files}</td><td>{bytes(x.logicalBytes)}</td><td>{bytes(x.uniqueBytes)}</td><td>{bytes(x.exclusiveBytes)}</td></tr>)}</tbody>
            </table>
          </div>
          )
        : null}
    </section>
  )
}
