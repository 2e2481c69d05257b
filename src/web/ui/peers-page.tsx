import { useState } from 'preact/hooks'
import { api, type Peer } from './api.js'
import { bytes, since } from './format.js'
import { useResource } from './use-resource.js'
import { Problem } from './problem.js'
import { AcceptForm, InviteForm, RevokeDialog } from './peer-actions.js'

export function PeersPage () {
  const [tick, setTick] = useState(0)
  const [revoking, setRevoking] = useState<Peer>()
  const r = useResource(async signal => await api.peers(signal), [tick])
  if (r.data == null) return <Problem resource={r} what='the peers' />
  const refresh = (): void => setTick(t => t + 1)
  return (
    <section aria-labelledby='peers-title'>
      <h1 id='peers-title'>Peers</h1>
      <div class='peer-actions'>
        <InviteForm />
        <AcceptForm onPaired={refresh} />
      </div>
      <RevokeDialog peer={revoking} onClose={() => setRevoking(undefined)} onRevoked={refresh} />
      {r.data.length === 0
        ? <p>No peer yet. Pair with a friend: invite them above (or <code>holdfast peers invite</code>), and they accept the code on their node.</p>
        : (
          <div class='scroll'>
            <table data-testid='peers'>
              <thead>
                <tr><th scope='col'>Peer</th><th scope='col'>Site</th><th scope='col'>Reached</th><th scope='col'>Keeps for you</th><th scope='col'>You keep for them</th><th scope='col' class='actions-col'><span class='sr-only'>Actions</span></th></tr>
              </thead>
              <tbody>
                {r.data.map(p => (
                  <tr key={p.peerId} class={p.revoked ? 'revoked' : ''}>
                    <th scope='row'>{p.name}<small class='mono'>{p.peerId.slice(0, 16)}...</small></th>
                    <td>{p.site}</td>
                    <td>{p.revoked ? 'revoked' : p.online ? <span class='badge badge-ok'>{p.via === 'relay' ? 'through a relay' : 'directly'}</span> : <span class='badge badge-failed'>offline, last seen {since(p.lastSeen)}</span>}</td>
                    <td>{bytes(p.storesForMe)} <small>of {bytes(p.quotaReceived)} they grant</small></td>
                    <td>{bytes(p.storedForThem)} <small>of {bytes(p.quotaGranted)} you grant</small></td>
                    <td>{p.revoked ? null : <button type='button' class='danger small' aria-label={`Revoke ${p.name}`} onClick={() => setRevoking(p)}>Revoke</button>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          )}
    </section>
  )
}
