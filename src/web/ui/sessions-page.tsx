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
    </section>
  )
}
