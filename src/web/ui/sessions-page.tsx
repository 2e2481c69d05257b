import { useState } from 'preact/hooks'
import { api } from './api.js'
import { useResource } from './use-resource.js'
import { SessionTable } from './session-table.js'
import { Problem } from './problem.js'

export function SessionsPage () {
  const [set, setSet] = useState('')
  const [status, setStatus] = useState('')
  const sets = useResource(async signal => await api.sets(signal), [], 0)
  const r = useResource(async signal => await api.sessions({ limit: 200, set }, signal), [set])
  return (
    <section aria-labelledby='sessions-title'>
      <h1 id='sessions-title'>Sessions</h1>
      <form class='filters' onSubmit={e => e.preventDefault()}>
        <label>Set
          <select value={set} onChange={e => setSet((e.target as HTMLSelectElement).value)}>
            <option value=''>all</option>
            {(sets.data ?? []).map(s => <option key={s.name} value={s.name}>{s.name}</option>)}
          </select>
        </label>
        <label>Status
          <select value={status} onChange={e => setStatus((e.target as HTMLSelectElement).value)}>
            <option value=''>any</option>
            {['ok', 'partial', 'failed', 'skipped'].map(s => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
      </form>
      {r.data == null ? <Problem resource={r} what='the sessions' /> : <SessionTable sessions={r.data.filter(s => status === '' || s.status === status)} />}
      <DaemonLogView />
    </section>
  )
}

/** The daemon's recent log lines, newest first, filterable by level. */
function DaemonLogView () {
  const [level, setLevel] = useState('')
  const log = useResource(async signal => await api.log(level, signal), [level])
  return (
    <section aria-labelledby='log-title' class='daemon-log'>
      <h2 id='log-title'>Daemon log</h2>
      <form class='filters' onSubmit={e => e.preventDefault()}>
        <label>Level
          <select value={level} onChange={e => setLevel((e.target as HTMLSelectElement).value)}>
            <option value=''>all</option>
            <option value='warning'>warnings and errors</option>
            <option value='error'>errors</option>
          </select>
        </label>
      </form>
      {log.data == null
        ? <Problem resource={log} what='the log' />
        : log.data.length === 0
          ? <p>Nothing logged{level !== '' ? ' at this level' : ''} since the daemon started.</p>
          : (
            <ol class='log' data-testid='daemon-log'>
              {log.data.map((l, i) => <li key={`${l.time}-${i}`} class={`log-${l.level}`}><time dateTime={l.time}>{new Date(l.time).toLocaleString()}</time> <span class='sr-only'>{l.level}: </span>{l.message}</li>)}
            </ol>
            )}
    </section>
  )
}
