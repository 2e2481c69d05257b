import { useState } from 'preact/hooks'
import { fleetApi, type FleetMember, type FleetSession } from './fleet-api.js'
import { bytes, since, when } from './format.js'
import { Problem } from './problem.js'
import { useResource } from './use-resource.js'

/**
 * Fleet: every node of the office that made this node its admin (holdfast peers grant ADMIN admin on
 * each), with its protection status, packs, peers, space and warnings; a backup, an audit or a repair
 * started on one; its session reports. Nothing of a node's data or passphrase is shown or reachable here.
 */
export function FleetPage () {
  const [tick, setTick] = useState(0)
  const r = useResource(async signal => await fleetApi.members(signal), [tick], 5000)
  if (r.data == null) return <Problem resource={r} what='the fleet' />
  return (
    <section aria-labelledby='fleet-title'>
      <h1 id='fleet-title'>Fleet</h1>
      {r.data.length === 0
        ? <p data-testid='fleet-empty'>No node has made this node its admin. On each node of the office: <code>holdfast peers grant {'<this node>'} admin</code>.</p>
        : <div class='fleet' data-testid='fleet'>{r.data.map(m => <NodeCard key={m.peerId} member={m} onStarted={() => setTick(t => t + 1)} />)}</div>}
    </section>
  )
}

function NodeCard ({ member, onStarted }: { member: FleetMember, onStarted: () => void }) {
  const s = member.status
  const [busy, setBusy] = useState(false)
  const [message, setMessage] = useState<string>()
  const [sessions, setSessions] = useState<FleetSession[]>()
  const [set, setSet] = useState(s?.sets[0]?.name ?? '')
  const start = async (action: 'backup' | 'audit' | 'repair'): Promise<void> => {
    setBusy(true)
    setMessage(undefined)
    try {
      await fleetApi.run(member.peerId, action, action === 'backup' && set !== '' ? set : undefined)
      setMessage(`${action} started`)
      onStarted()
    } catch (err) {
      setMessage((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  const loadSessions = async (): Promise<void> => {
    try { setSessions(await fleetApi.sessions(member.peerId)) } catch (err) { setMessage((err as Error).message) }
  }
  return (
    <article class='card fleet-node' data-testid='fleet-node' data-name={member.name} aria-labelledby={`node-${member.peerId}`}>
      <h2 id={`node-${member.peerId}`}>{member.name} <small>site {member.site}</small> {member.online ? <span class='badge badge-ok'>online</span> : <span class='badge badge-failed'>offline, seen {since(member.seen)}</span>}</h2>
      {s == null
        ? <p>No status yet.</p>
        : (
          <>
            <div class={`status status-${s.level}`} role='status' data-testid='node-status'>{s.summary}</div>
            <ul class='facts'>
              <li>Last backup: {s.lastBackup != null ? since(s.lastBackup) : 'never'}</li>
              {s.packs != null ? <li>Packs: {s.packs.total} ({s.packs.full} full, {s.packs.degraded} degraded, {s.packs.critical} critical)</li> : null}
              <li>Peers online: {s.peers.online} of {s.peers.trusted}</li>
              <li>Space: {bytes(s.space.storedOnOthers)} on others, {bytes(s.space.givenToOthers)} kept for others</li>
            </ul>
            {s.warnings.length > 0 ? <ul class='warnings'>{s.warnings.map((w, i) => <li key={i}>{w.message} <small>{w.action}</small></li>)}</ul> : null}
            <div class='fleet-actions'>
              {s.sets.length > 1
                ? <label>Set <select value={set} onChange={e => setSet((e.target as HTMLSelectElement).value)}>{s.sets.map(x => <option key={x.name} value={x.name}>{x.name}</option>)}</select></label>
                : null}
              <button type='button' disabled={busy || !member.online} onClick={() => { void start('backup') }}>Back up {s.sets.length === 1 ? `"${s.sets[0].name}"` : ''}</button>
              <button type='button' disabled={busy || !member.online} onClick={() => { void start('audit') }}>Audit</button>
              <button type='button' disabled={busy || !member.online} onClick={() => { void start('repair') }}>Repair</button>
              <button type='button' class='secondary' disabled={!member.online} onClick={() => { void loadSessions() }}>Session reports</button>
            </div>
            {message != null ? <p role='status' data-testid='fleet-message'>{message}</p> : null}
            {s.jobs.length > 0
              ? (
                <table class='jobs' data-testid='fleet-jobs'>
                  <caption>Started from here</caption>
                  <thead><tr><th scope='col'>What</th><th scope='col'>Started</th><th scope='col'>Outcome</th></tr></thead>
                  <tbody>{s.jobs.map(j => <tr key={j.id} data-status={j.status}><td>{j.action}{j.set != null ? ` "${j.set}"` : ''}</td><td>{when(j.started)}</td><td><span class={`badge badge-${j.status === 'running' ? 'partial' : j.status}`}>{j.status}</span> {j.detail ?? ''}</td></tr>)}</tbody>
                </table>
                )
              : null}
            {sessions != null
              ? (
                <table class='jobs' data-testid='fleet-sessions'>
                  <caption>Session reports</caption>
                  <thead><tr><th scope='col'>Ended</th><th scope='col'>Kind</th><th scope='col'>Set</th><th scope='col'>Status</th></tr></thead>
                  <tbody>{sessions.map(x => <tr key={x.id}><td>{when(x.ended)}</td><td>{x.kind}</td><td>{x.set ?? ''}</td><td><span class={`badge badge-${x.status}`}>{x.status}</span> {x.reason ?? ''}</td></tr>)}</tbody>
                </table>
                )
              : null}
          </>
          )}
    </article>
  )
}
