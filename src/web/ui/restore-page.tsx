import { useState } from 'preact/hooks'
import { snapshotApi, type SearchResult, type SnapshotInfo } from './snapshot-api.js'
import { useResource } from './use-resource.js'
import { Problem } from './problem.js'
import { UnlockGate } from './unlock-gate.js'
import { SnapshotTree, VersionsPanel } from './snapshot-tree.js'
import { RestoreForm } from './restore-form.js'
import { bytes, when } from './format.js'
import { SnapshotInsights } from './snapshot-insights.js'

/**
 * The Restore page: the snapshots by date; one browsed as a file tree; names searched across
 * snapshots; a file's versions; downloads; restores with live progress. Needs the passphrase.
 */
export function RestorePage () {
  return (
    <section class='restore-page' aria-labelledby='restore-title'>
      <h1 id='restore-title'>Restore</h1>
      <UnlockGate why='Browsing snapshots'><RestoreView /></UnlockGate>
    </section>
  )
}

function RestoreView () {
  const snaps = useResource(async signal => await snapshotApi.snapshots(signal), [], 60_000)
  const [chosen, setChosen] = useState<string>()
  const [path, setPath] = useState<string>()
  const [selected, setSelected] = useState<string[]>([])
  const [versions, setVersions] = useState<string>()
  const [restoring, setRestoring] = useState<string[]>()
  if (snaps.data == null) return <Problem resource={snaps} what='the snapshots' />
  if (snaps.data.length === 0) return <p>No snapshot yet: back something up first.</p>
  const snap = snaps.data.find(s => s.id === chosen) ?? snaps.data[0]
  const here = path ?? (snap.paths.length === 1 ? snap.paths[0] : '/')
  const open = (id: string, p?: string): void => { setChosen(id); setPath(p); setSelected([]); setRestoring(undefined) }
  return (
    <div class='restore-layout'>
      <aside class='card snapshots' aria-labelledby='snapshots-title'>
        <h2 id='snapshots-title'>Snapshots</h2>
        <SnapshotList snapshots={snaps.data} current={snap.id} onChoose={id => open(id)} />
      </aside>
      <div class='restore-main'>
        <SearchBox snapshot={snap} onOpen={(id, p) => open(id, p)} />
        <section class='card' aria-labelledby='browse-title'>
          <h2 id='browse-title'>Snapshot of {when(snap.time)} <small>{snap.short} · {snap.host}{snap.set != null ? ` · set ${snap.set}` : ''} · {snap.summary.files} files, {bytes(snap.summary.bytes)}</small></h2>
          <SnapshotTree
            snapshot={snap.id}
            path={here}
            selected={selected}
            onOpen={p => { setPath(p); setSelected([]) }}
            onSelect={setSelected}
            onVersions={setVersions}
            onRestore={setRestoring}
          />
        </section>
        {restoring != null && <RestoreForm key={restoring.join('\n')} snapshot={snap.id} paths={restoring} onClose={() => setRestoring(undefined)} />}
        <SnapshotInsights key={snap.id} snapshot={snap.id} previous={snaps.data[snaps.data.findIndex(s => s.id === snap.id) + 1]?.id} />
        {versions != null && <VersionsPanel path={versions} onClose={() => setVersions(undefined)} onOpen={id => open(id, versions.slice(0, versions.lastIndexOf('/')) || '/')} />}
      </div>
    </div>
  )
}

function SnapshotList ({ snapshots, current, onChoose }: { snapshots: SnapshotInfo[], current: string, onChoose: (id: string) => void }) {
  const days = new Map<string, SnapshotInfo[]>()
  for (const s of snapshots) {
    const day = new Date(s.time).toLocaleDateString(undefined, { dateStyle: 'full' })
    days.set(day, [...(days.get(day) ?? []), s])
  }
  return (
    <div class='snapshot-days'>
      {[...days.entries()].map(([day, list]) => (
        <div key={day}>
          <h3>{day}</h3>
          <ul>
            {list.map(s => (
              <li key={s.id}>
                <button type='button' class='snapshot' aria-current={s.id === current ? 'true' : undefined} onClick={() => onChoose(s.id)}>
                  <span>{new Date(s.time).toLocaleTimeString(undefined, { timeStyle: 'short' })}</span>
                  <small>{s.set ?? s.paths.join(', ')} · {s.summary.files} files{s.partial ? ' · partial' : ''}</small>
                </button>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </div>
  )
}

function SearchBox ({ snapshot, onOpen }: { snapshot: SnapshotInfo, onOpen: (id: string, dir: string) => void }) {
  const [q, setQ] = useState('')
  const [onlyThis, setOnlyThis] = useState(false)
  const [result, setResult] = useState<SearchResult>()
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    if (q.trim() === '') return
    setBusy(true)
    setError(undefined)
    try { setResult(await snapshotApi.search(q.trim(), onlyThis ? snapshot.id : undefined)) } catch (err) { setError((err as Error).message) } finally { setBusy(false) }
  }
  return (
    <section class='card' aria-labelledby='search-title'>
      <h2 id='search-title'>Find a file</h2>
      <form role='search' class='search' onSubmit={e => { void submit(e) }}>
        <label for='search-q'>Name or pattern</label>
        <input id='search-q' type='search' value={q} placeholder='report, *.pdf' onInput={e => setQ((e.target as HTMLInputElement).value)} />
        <label class='choice'><input type='checkbox' checked={onlyThis} onChange={e => setOnlyThis((e.target as HTMLInputElement).checked)} /> This snapshot only</label>
        <button type='submit' disabled={busy}>{busy ? 'Searching...' : 'Search'}</button>
      </form>
      {error != null && <p class='error' role='alert'>{error}</p>}
      {result != null && (result.hits.length === 0
        ? <p role='status'>Nothing found.</p>
        : (
          <div class='scroll'>
            <p role='status'>{result.hits.length}{result.truncated ? '+' : ''} found{result.truncated ? ' (the first ones: make the search narrower)' : ''}.</p>
            <table data-testid='search-results'>
              <thead><tr><th scope='col'>Path</th><th scope='col'>Snapshot</th><th scope='col'>Size</th><th scope='col'><span class='sr-only'>Actions</span></th></tr></thead>
              <tbody>
                {result.hits.map(h => {
                  const dir = h.type === 'dir' ? h.path : (h.path.slice(0, h.path.lastIndexOf('/')) || '/')
                  return (
                    <tr key={`${h.snapshot}${h.path}`}>
                      <th scope='row' class='name'><button type='button' class='link' onClick={() => onOpen(h.snapshot, dir)}>{h.path}</button></th>
                      <td>{when(h.time)}</td>
                      <td>{h.type === 'file' ? bytes(h.size) : h.type}</td>
                      <td>{h.type === 'file' ? <a href={snapshotApi.fileUrl(h.snapshot, h.path)} download={h.name}>Download</a> : null}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  )
}
