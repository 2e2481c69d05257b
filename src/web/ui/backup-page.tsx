import { useState } from 'preact/hooks'
import { api } from './api.js'
import { backupApi, type SetBody } from './backup-api.js'
import { Problem } from './problem.js'
import { SetCard } from './set-card.js'
import { SetForm } from './set-form.js'
import { useResource } from './use-resource.js'
import { useRunEvents } from './use-run-events.js'

/** The Backup page: each set as a card ("Back up now" with live progress, edit, remove), and a new set. */
export function BackupPage () {
  const [tick, setTick] = useState(0)
  const [adding, setAdding] = useState(false)
  const refresh = (): void => setTick(t => t + 1)
  const sets = useResource(async signal => await api.sets(signal), [tick], 15_000)
  // a run that ends changes the set's last session
  const runs = useRunEvents(() => refresh())
  const add = async (body: SetBody): Promise<void> => {
    await backupApi.addSet(body)
    setAdding(false)
    refresh()
  }
  return (
    <section class='backup-page' aria-labelledby='backup-title'>
      <h1 id='backup-title'>Backup</h1>
      {!runs.connected && <p class='muted' role='status'>Connecting to the daemon's live progress...</p>}
      {sets.data == null
        ? <Problem resource={sets} what='the backup sets' />
        : (
          <>
            {sets.data.length === 0 && <p>No backup set yet: add one below.</p>}
            <div class='set-cards'>
              {sets.data.map(s => <SetCard key={s.name} set={s} run={runs.running.get(s.name)} ended={runs.ended.get(s.name)} onChanged={refresh} />)}
            </div>
          </>
          )}
      {adding
        ? (
          <div class='card'>
            <h2>New backup set</h2>
            <SetForm id='new-set' isNew initial={{ name: '', paths: [], exclude: [], schedule: '', watch: false, ping: '', standby: '' }} onSave={add} onCancel={() => setAdding(false)} />
          </div>
          )
        : <button type='button' class='primary' onClick={() => setAdding(true)}>Add a set</button>}
    </section>
  )
}
