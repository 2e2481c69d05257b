import { useEffect, useState } from 'preact/hooks'
import { snapshotApi, type RestoreBody, type RestoreProgress } from './snapshot-api.js'
import { bytes } from './format.js'

/**
 * Restores paths of a snapshot to their original place or below another folder, then follows the
 * restore's progress until it ends (the daemon runs it; leaving the page does not stop it).
 */
export function RestoreForm ({ snapshot, paths, onClose }: { snapshot: string, paths: string[], onClose: () => void }) {
  const [where, setWhere] = useState<'original' | 'other'>('other')
  const [folder, setFolder] = useState('')
  const [overwrite, setOverwrite] = useState<NonNullable<RestoreBody['overwrite']>>('if-changed')
  const [error, setError] = useState<string>()
  const [job, setJob] = useState<string>()
  const [progress, setProgress] = useState<RestoreProgress>()
  useEffect(() => {
    if (job == null) return
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    // live: the restore's server-sent events; should they fail, asking every half second
    const events = new EventSource(snapshotApi.restoreEventsUrl(job))
    const onEvent = (e: MessageEvent<string>): void => { setProgress(JSON.parse(e.data) as RestoreProgress) }
    events.addEventListener('progress', onEvent)
    let ended = false
    let polling = false
    events.addEventListener('end', e => { ended = true; events.close(); onEvent(e) })
    events.onerror = () => {
      events.close()
      if (ended || polling || controller.signal.aborted) return
      polling = true
      void poll()
    }
    const poll = async (): Promise<void> => {
      try {
        const p = await snapshotApi.restore(job, controller.signal)
        setProgress(p)
        if (p.state !== 'running') return
      } catch (err) {
        if (controller.signal.aborted) return
        setError((err as Error).message)
      }
      timer = setTimeout(() => { void poll() }, 500)
    }
    return () => { controller.abort(); clearTimeout(timer); events.close() }
  }, [job])
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setError(undefined)
    try {
      const target = where === 'original' ? 'original' : folder.trim()
      if (target !== 'original' && !target.startsWith('/')) throw new Error('Give the folder as an absolute path, such as /home/ann/restored')
      setJob((await snapshotApi.startRestore({ snapshot, paths, target, overwrite })).id)
    } catch (err) {
      setError((err as Error).message)
    }
  }
  const running = job != null && progress?.state !== 'done' && progress?.state !== 'failed'
  return (
    <form class='card restore-form' onSubmit={e => { void submit(e) }} aria-labelledby='restore-form-title' data-testid='restore-form'>
      <h2 id='restore-form-title'>Restore {paths.length === 1 ? <code>{paths[0]}</code> : `${paths.length} items`}</h2>
      <fieldset disabled={job != null}>
        <legend>Where to</legend>
        <label class='choice'><input type='radio' name='where' checked={where === 'original'} onChange={() => setWhere('original')} /> Its original place</label>
        <label class='choice'><input type='radio' name='where' checked={where === 'other'} onChange={() => setWhere('other')} /> Another folder (the full path is kept below it)</label>
        {where === 'other' && (
          <label class='field'>Folder
            <input type='text' value={folder} placeholder='/home/me/restored' required autocomplete='off' spellcheck={false} onInput={e => setFolder((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <label class='field'>Files already there
          <select value={overwrite} onChange={e => setOverwrite((e.target as HTMLSelectElement).value as typeof overwrite)}>
            <option value='if-changed'>replace them if they differ</option>
            <option value='if-newer'>replace them if the backup is newer</option>
            <option value='always'>always replace them</option>
            <option value='never'>keep them</option>
          </select>
        </label>
      </fieldset>
      <div class='actions'>
        {job == null && <button type='submit'>Start restore</button>}
        <button type='button' class='secondary' onClick={onClose}>{running ? 'Hide (it goes on)' : 'Close'}</button>
      </div>
      {error != null && <p class='error' role='alert'>{error}</p>}
      {progress != null && <RestoreStatus p={progress} />}
    </form>
  )
}

function RestoreStatus ({ p }: { p: RestoreProgress }) {
  const pct = p.bytesTotal > 0 ? Math.round(100 * p.bytesDone / p.bytesTotal) : p.state === 'running' ? 0 : 100
  return (
    <div class='restore-status' data-testid='restore-status'>
      <progress max={100} value={pct} aria-label='Restore progress'>{pct}%</progress>
      <p role='status' aria-live='polite'>
        {p.state === 'running' && `Restoring: ${p.filesDone} of ${p.filesTotal} files, ${bytes(p.bytesDone)} of ${bytes(p.bytesTotal)}`}
        {p.state === 'done' && (p.failedTotal === 0
          ? `Restored ${p.files} files (${bytes(p.bytesDone)}) to ${p.target}${p.skipped > 0 ? `; ${p.skipped} left as they were` : ''}.`
          : `Restored ${p.files} files; ${p.failedTotal} could not be restored.`)}
        {p.state === 'failed' && <span class='error'>The restore stopped: {p.error}</span>}
      </p>
      {p.failed.length > 0 && <ul class='failed'>{p.failed.map(f => <li key={f.path}><code>{f.path}</code>: {f.reason}</li>)}</ul>}
    </div>
  )
}
