import { useEffect, useRef, useState } from 'preact/hooks'
import type { BackupSet } from './api.js'
import { backupApi, type RunEnded, type RunProgress, type SetBody } from './backup-api.js'
import { cronInWords } from './cron-words.js'
import { since, when } from './format.js'
import { RunProgressBar } from './run-progress-bar.js'
import { SetForm } from './set-form.js'
import { UnlockGate } from './unlock-gate.js'

/** Starts the backup once mounted: inside the UnlockGate, that is once the daemon holds the passphrase. */
function StartBackup ({ set, onError, onDone }: { set: string, onError: (message: string) => void, onDone: () => void }) {
  const started = useRef(false)
  useEffect(() => {
    if (started.current) return
    started.current = true
    backupApi.backupNow(set).then(onDone, err => { onError((err as Error).message); onDone() })
  }, [])
  return <p aria-busy='true'>Starting...</p>
}

/**
 * One backup set: what it backs up, when (the schedule in words, the next run, watch mode), its last
 * session; "Back up now" with live progress and Cancel; edit and remove.
 */
export function SetCard ({ set, run, ended, onChanged }: { set: BackupSet, run?: RunProgress, ended?: RunEnded, onChanged: () => void }) {
  const [starting, setStarting] = useState(false)
  const [editing, setEditing] = useState(false)
  const [confirming, setConfirming] = useState(false)
  const [error, setError] = useState<string>()
  const id = `set-${set.name.replace(/[^A-Za-z0-9_-]/g, '_')}`
  const schedule = set.schedule == null ? null : cronInWords(set.schedule) ?? set.schedule
  const cancel = async (): Promise<void> => {
    if (run == null) return
    try { await backupApi.cancel(run.id) } catch (err) { setError((err as Error).message) }
  }
  const remove = async (): Promise<void> => {
    try { await backupApi.removeSet(set.name); onChanged() } catch (err) { setError((err as Error).message); setConfirming(false) }
  }
  const save = async (body: SetBody): Promise<void> => {
    await backupApi.changeSet(set.name, body)
    setEditing(false)
    onChanged()
  }
  const shown = run ?? ended?.run
  return (
    <article class='card set-card' aria-labelledby={`${id}-title`} data-testid={`set-${set.name}`}>
      <h2 id={`${id}-title`}>{set.name}</h2>
      <dl class='set-facts'>
        {set.command != null
          ? <><dt>Command</dt><dd><code>{set.command.join(' ')}</code> <small>(its output is stored as /{set.name})</small></dd></>
          : <><dt>Paths</dt><dd>{set.paths.map(p => <code key={p}>{p}</code>)}</dd></>}
        {(set.exclude ?? []).length > 0 && <><dt>Excludes</dt><dd>{set.exclude!.map(p => <code key={p}>{p}</code>)}</dd></>}
        <dt>Schedule</dt><dd data-testid='schedule'>{schedule ?? 'none'}{set.schedule != null && schedule !== set.schedule ? <small> ({set.schedule})</small> : null}</dd>
        {set.nextRun != null && <><dt>Next run</dt><dd>{when(set.nextRun)}</dd></>}
        <dt>Watch mode</dt><dd>{set.watch ? 'on: changes are backed up as they happen' : 'off'}</dd>
        {set.standby != null && <><dt>Standby copy</dt><dd data-testid='standby'><code>{set.standby}</code></dd></>}
        <dt>Last session</dt>
        <dd data-testid='last-session'>
          {set.lastSession == null
            ? 'never'
            : <><span class={`badge badge-${set.lastSession.status}`}>{set.lastSession.status}</span> {since(set.lastSession.ended)}{set.lastSession.reason != null ? <small class='reason'> {set.lastSession.reason}</small> : null}</>}
        </dd>
      </dl>
      {shown != null && <RunProgressBar run={shown} ended={run == null ? ended : undefined} label={`Backup of ${set.name}`} />}
      {error != null && <p class='error' role='alert'>{error}</p>}
      {starting
        ? <UnlockGate why='Backing up'><StartBackup set={set.name} onError={setError} onDone={() => setStarting(false)} /></UnlockGate>
        : (
          <div class='actions'>
            {run == null
              ? <button type='button' class='primary' onClick={() => { setError(undefined); setStarting(true) }}>Back up now</button>
              : <button type='button' class='danger' onClick={() => { void cancel() }} disabled={run.cancelling}>{run.cancelling ? 'Cancelling...' : 'Cancel'}</button>}
            <button type='button' onClick={() => setEditing(e => !e)} aria-expanded={editing} aria-controls={editing ? `${id}-form` : undefined}>Edit</button>
            <button type='button' onClick={() => setConfirming(true)} disabled={confirming}>Remove</button>
          </div>
          )}
      {confirming && (
        <div class='confirm' role='alertdialog' aria-labelledby={`${id}-confirm`}>
          <p id={`${id}-confirm`}>Remove set {set.name}? Its snapshots stay in the repository; the daemon stops backing up these paths.</p>
          <button type='button' class='danger' onClick={() => { void remove() }} ref={el => el?.focus()}>Remove {set.name}</button>
          <button type='button' onClick={() => setConfirming(false)}>Keep it</button>
        </div>
      )}
      {editing && (
        <div id={`${id}-form`}>
          <SetForm
            id={id}
            isNew={false}
            initial={{ name: set.name, paths: set.paths, exclude: set.exclude ?? [], schedule: set.schedule ?? '', watch: set.watch, ping: set.ping ?? '', standby: set.standby ?? '' }}
            onSave={save}
            onCancel={() => setEditing(false)}
          />
        </div>
      )}
    </article>
  )
}
