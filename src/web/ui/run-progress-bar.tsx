import type { RunEnded, RunProgress } from './backup-api.js'
import { bytes } from './format.js'

const PHASE_WORD: Record<RunProgress['phase'], string> = {
  queued: 'Waiting for another set\'s session',
  scanning: 'Scanning',
  'backing up': 'Backing up',
  uploading: 'Uploading the last packs',
  finishing: 'Finishing'
}

/** Seconds as "45 s", "3 min 5 s", "2 h 10 min". */
export function seconds (s: number): string {
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

/** A run under way (or just over): phase, a progress bar, files, bytes, rate and ETA. */
export function RunProgressBar ({ run, ended, label }: { run: RunProgress, ended?: RunEnded, label: string }) {
  const percent = run.percent == null ? undefined : Math.round(run.percent)
  const status = ended?.session.status
  return (
    <div class='run' data-testid='run'>
      <p class='run-phase' aria-live='polite'>
        {ended != null
          ? <>Finished: <span class={`badge badge-${status!}`} data-testid='run-status'>{status}</span>{ended.session.reason != null ? <small class='reason'> {ended.session.reason}</small> : null}</>
          : <>{run.cancelling ? 'Cancelling' : PHASE_WORD[run.phase]}{percent != null ? ` - ${percent}%` : ''}</>}
      </p>
      <div
        class={`bar${ended != null ? ` bar-${status!}` : ''}`}
        role='progressbar'
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(percent != null ? { 'aria-valuenow': percent, 'aria-valuetext': `${percent}%` } : { 'aria-valuetext': PHASE_WORD[run.phase] })}
        data-testid='progress'
      >
        <div class={`bar-fill${percent == null ? ' bar-unknown' : ''}`} style={{ width: `${percent ?? 100}%` }} />
      </div>
      <dl class='run-figures'>
        <dt>Files</dt><dd data-testid='run-files'>{run.filesDone}{run.filesTotal != null ? ` of ${run.filesTotal}` : ' found'}</dd>
        <dt>Data</dt><dd data-testid='run-bytes'>{bytes(run.bytesDone)}{run.bytesTotal != null ? ` of ${bytes(run.bytesTotal)}` : ''}</dd>
        {ended == null ? <><dt>Rate</dt><dd>{run.rate > 0 ? `${bytes(Math.round(run.rate))}/s` : '-'}</dd></> : null}
        {ended == null ? <><dt>Time left</dt><dd>{run.etaSeconds != null ? seconds(run.etaSeconds) : '-'}</dd></> : null}
      </dl>
    </div>
  )
}
