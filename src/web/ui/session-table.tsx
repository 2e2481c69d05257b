import type { Session } from './api.js'
import { bytes, duration, when } from './format.js'

export function SessionTable ({ sessions }: { sessions: Session[] }) {
  if (sessions.length === 0) return <p>No session yet.</p>
  return (
    <div class='scroll'>
      <table data-testid='sessions'>
        <thead>
          <tr><th scope='col'>Started</th><th scope='col'>Set</th><th scope='col'>Trigger</th><th scope='col'>Status</th><th scope='col'>Files</th><th scope='col'>Added</th><th scope='col'>Took</th></tr>
        </thead>
        <tbody>
          {sessions.map(s => (
            <tr key={s.id}>
              <td>{when(s.started)}</td>
              <td>{s.set ?? '-'}</td>
              <td>{s.kind === 'restore' ? 'restore' : s.trigger}</td>
              <td><span class={`badge badge-${s.status}`}>{s.status}</span>{s.reason != null ? <small class='reason'> {s.reason}</small> : null}</td>
              {s.kind === 'restore'
                ? <><td>{s.restored?.files ?? 0} restored to <code>{s.target}</code>{(s.restored?.skipped ?? 0) > 0 ? `, ${s.restored!.skipped} left as they were` : ''}</td><td>{bytes(s.restored?.bytes ?? 0)} restored</td></>
                : <><td>{s.counts.filesNew + s.counts.filesChanged} new or changed, {s.counts.filesUnchanged} unchanged</td><td>{bytes(s.bytesAdded)}</td></>}
              <td>{duration(s.started, s.ended)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
