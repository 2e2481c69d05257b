import { api, type Overview } from './api.js'
import { bytes, since, when } from './format.js'
import { useResource } from './use-resource.js'
import { SessionTable } from './session-table.js'
import { Problem } from './problem.js'

const LEVEL_WORD: Record<Overview['level'], string> = { ok: 'Protected', warning: 'Needs attention', danger: 'At risk' }

export function OverviewPage () {
  const r = useResource(async signal => await api.overview(signal))
  if (r.data == null) return <Problem resource={r} what='the overview' />
  const o = r.data
  return (
    <section aria-labelledby='overview-title'>
      <h1 id='overview-title'>Overview</h1>
      <div class={`status status-${o.level}`} role='status' data-testid='protection-status'>
        <strong>{LEVEL_WORD[o.level]}</strong>
        <span data-testid='protection-summary'>{o.summary}</span>
      </div>
      {o.warnings.length > 0 && (
        <div class='card'>
          <h2>Needs you</h2>
          <ul class='warnings' data-testid='warnings'>
            {o.warnings.map(w => <li key={w.message}><span>{w.message}</span><small>{w.action}</small></li>)}
          </ul>
        </div>
      )}
      <div class='grid'>
        <div class='card'>
          <h2>Backup sets</h2>
          {o.sets.length === 0
            ? <p>No backup set yet: add one to <code>backup.sets</code> in node.json.</p>
            : (
              <table>
                <thead><tr><th scope='col'>Set</th><th scope='col'>Last backup</th><th scope='col'>Next run</th></tr></thead>
                <tbody>
                  {o.sets.map(s => (
                    <tr key={s.name}>
                      <th scope='row'>{s.name}</th>
                      <td>{since(s.lastSuccess)}{s.lastSession?.status === 'failed' ? ' (last run failed)' : ''}</td>
                      <td>{s.watch ? 'watching' : when(s.nextRun)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              )}
        </div>
        <div class='card'>
          <h2>Packs</h2>
          {o.packs == null
            ? <p>Not known now (the register is busy, or the backups are not on peers).</p>
            : (
              <>
                <p class='big' data-testid='packs-full'>{o.packs.total === 0 ? 'none yet' : o.packs.full === o.packs.total ? `all ${o.packs.total} at ${o.packs.n}/${o.packs.n}` : `${o.packs.full} of ${o.packs.total} at ${o.packs.n}/${o.packs.n}`}</p>
                <dl class='ledger'>
                  <dt>Missing shards, still restorable</dt><dd data-testid='packs-degraded'>{o.packs.degraded}</dd>
                  <dt>Down to their last shards</dt><dd data-testid='packs-critical'>{o.packs.critical}</dd>
                </dl>
              </>
              )}
        </div>
        <div class='card'>
          <h2>Peers</h2>
          <p class='big' data-testid='peers-online'>{o.peers.online} of {o.peers.trusted} online</p>
          <dl class='ledger'>
            <dt>Your backups on others</dt><dd data-testid='stored-on-others'>{bytes(o.space.storedOnOthers)} <small>of {bytes(o.space.grantedByOthers)} granted</small></dd>
            <dt>Others' backups here</dt><dd data-testid='given-to-others'>{bytes(o.space.givenToOthers)} <small>of {bytes(o.space.grantedToOthers)} granted</small></dd>
          </dl>
        </div>
      </div>
      <div class='card'>
        <h2>Last sessions</h2>
        <SessionTable sessions={o.recentSessions} />
      </div>
    </section>
  )
}
