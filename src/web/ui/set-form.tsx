import { useState } from 'preact/hooks'
import type { SetBody } from './backup-api.js'
import { cronInWords } from './cron-words.js'
import { PathPicker } from './path-picker.js'

export interface SetFormValues { name: string, paths: string[], exclude: string[], schedule: string, watch: boolean, ping: string, standby: string }

type Field = 'name' | 'paths' | 'exclude' | 'schedule' | 'ping' | 'standby'

/** The field a config error names (e.g. "node.json: backup.sets[2].schedule: ..."), to show it there too. */
function fieldOf (message: string): Field | undefined {
  const m = /\.(name|paths|exclude|schedule|ping|standby)\b/.exec(message) ?? /\b(name|paths?|schedule|ping|standby)\b/.exec(message)
  if (m == null) return undefined
  return (m[1] === 'path' ? 'paths' : m[1]) as Field
}

/**
 * Adds or edits a set: paths (typed, or chosen on the local disk), excludes, schedule (cron, read back in
 * words), watch mode and the healthchecks ping URL. What the daemon refuses is shown next to the form
 * with the config's own words, and next to the field it names.
 */
export function SetForm ({ id, initial, isNew, onSave, onCancel }: { id: string, initial: SetFormValues, isNew: boolean, onSave: (body: SetBody) => Promise<void>, onCancel: () => void }) {
  const [v, setV] = useState(initial)
  const [newPath, setNewPath] = useState('')
  const [picking, setPicking] = useState(false)
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const [keepStandby, setKeepStandby] = useState(initial.standby !== '')
  const field = error != null ? fieldOf(error) : undefined
  const set = (patch: Partial<SetFormValues>): void => setV(x => ({ ...x, ...patch }))
  const addPath = (p: string): void => {
    const path = p.trim()
    if (path !== '' && !v.paths.includes(path)) set({ paths: [...v.paths, path] })
  }
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    try {
      const paths = newPath.trim() !== '' && !v.paths.includes(newPath.trim()) ? [...v.paths, newPath.trim()] : v.paths
      await onSave({ ...(isNew ? { name: v.name.trim() } : {}), paths, exclude: v.exclude, schedule: v.schedule.trim(), watch: v.watch, ping: v.ping.trim(), standby: keepStandby ? v.standby.trim() : '' })
    } catch (err) {
      setError((err as Error).message)
    } finally {
      setBusy(false)
    }
  }
  const words = v.schedule.trim() === '' ? 'no schedule' : cronInWords(v.schedule)
  const errorHere = (f: Field) => field === f ? <p class='error field-error' id={`${id}-${f}-error`}>{error}</p> : null
  const invalid = (f: Field) => field === f ? { 'aria-invalid': true, 'aria-describedby': `${id}-${f}-error` } : {}
  return (
    <form class='set-form' onSubmit={e => { void submit(e) }} aria-label={isNew ? 'New backup set' : `Edit set ${initial.name}`} data-testid='set-form' noValidate>
      {error != null && <p class='error' role='alert' data-testid='set-form-error'>{error}</p>}
      {isNew && (
        <div class='field'>
          <label for={`${id}-name`}>Name</label>
          <input id={`${id}-name`} value={v.name} onInput={e => set({ name: (e.target as HTMLInputElement).value })} required maxLength={64} pattern='[A-Za-z0-9._-]+' {...invalid('name')} />
          <small>Letters, digits, ".", "_" and "-".</small>
          {errorHere('name')}
        </div>
      )}
      <fieldset class='field' {...invalid('paths')}>
        <legend>Paths</legend>
        <ul class='path-list'>
          {v.paths.map(p => (
            <li key={p}><code>{p}</code> <button type='button' class='small' onClick={() => set({ paths: v.paths.filter(x => x !== p) })} aria-label={`Remove path ${p}`}>Remove</button></li>
          ))}
          {v.paths.length === 0 && <li><small>No path yet.</small></li>}
        </ul>
        <div class='path-add'>
          <label for={`${id}-newpath`} class='visually-hidden'>Add a path</label>
          <input id={`${id}-newpath`} placeholder='/home/me/Documents' value={newPath} onInput={e => setNewPath((e.target as HTMLInputElement).value)} onKeyDown={e => { if (e.key === 'Enter') { e.preventDefault(); addPath(newPath); setNewPath('') } }} />
          <button type='button' onClick={() => { addPath(newPath); setNewPath('') }}>Add</button>
          <button type='button' onClick={() => setPicking(p => !p)} aria-expanded={picking}>Browse...</button>
        </div>
        {picking && <PathPicker start={v.paths[0] ?? '/'} onPick={addPath} onClose={() => setPicking(false)} />}
        {errorHere('paths')}
      </fieldset>
      <div class='field'>
        <label for={`${id}-exclude`}>Excludes <small>(one pattern a line, gitignore style)</small></label>
        <textarea id={`${id}-exclude`} rows={3} value={v.exclude.join('\n')} onInput={e => set({ exclude: (e.target as HTMLTextAreaElement).value.split('\n').map(x => x.trim()).filter(x => x !== '') })} {...invalid('exclude')} />
        {errorHere('exclude')}
      </div>
      <div class='field'>
        <label for={`${id}-schedule`}>Schedule <small>(cron: minute hour day month weekday; empty: none)</small></label>
        <input id={`${id}-schedule`} value={v.schedule} placeholder='0 3 * * *' onInput={e => set({ schedule: (e.target as HTMLInputElement).value })} aria-describedby={field === 'schedule' ? `${id}-schedule-error` : `${id}-schedule-words`} aria-invalid={field === 'schedule' ? true : undefined} />
        <small id={`${id}-schedule-words`}>{words ?? 'as written'}</small>
        {errorHere('schedule')}
      </div>
      <div class='field field-check'>
        <input id={`${id}-watch`} type='checkbox' checked={v.watch} onChange={e => set({ watch: (e.target as HTMLInputElement).checked })} />
        <label for={`${id}-watch`}>Watch mode: back up changes as they happen</label>
      </div>
      <div class='field'>
        <label for={`${id}-ping`}>Healthchecks ping URL <small>(optional)</small></label>
        <input id={`${id}-ping`} type='url' value={v.ping} placeholder='https://hc-ping.com/...' onInput={e => set({ ping: (e.target as HTMLInputElement).value })} {...invalid('ping')} />
        {errorHere('ping')}
      </div>
      <div class='field field-check'>
        <input id={`${id}-keep-standby`} type='checkbox' checked={keepStandby} onChange={e => setKeepStandby((e.target as HTMLInputElement).checked)} aria-controls={`${id}-standby`} />
        <label for={`${id}-keep-standby`}>Standby copy: keep a folder equal to the latest snapshot</label>
      </div>
      {keepStandby && (
        <div class='field'>
          <label for={`${id}-standby`}>Standby folder <small>(after each backup, only what changed is written)</small></label>
          <input id={`${id}-standby`} value={v.standby} placeholder='/srv/standby/documents' onInput={e => set({ standby: (e.target as HTMLInputElement).value })} {...invalid('standby')} />
          {errorHere('standby')}
        </div>
      )}
      <div class='actions'>
        <button type='submit' class='primary' disabled={busy}>{busy ? 'Saving...' : isNew ? 'Add set' : 'Save'}</button>
        <button type='button' onClick={onCancel} disabled={busy}>Cancel</button>
      </div>
    </form>
  )
}
