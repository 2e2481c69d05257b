import type { SessionEvent } from './run-session.js'
import type { SessionTrigger } from './session-report.js'

/** Where a session under way is: waiting its turn, scanning, reading files, waiting for the last uploads, committing. */
export type RunPhase = 'queued' | 'scanning' | 'backing up' | 'uploading' | 'finishing'

/** A session under way as the dashboard shows it (GET /runs, the progress events). */
export interface RunProgress {
  /** The run's id: the id its session report gets. */
  id: string
  set: string
  trigger: SessionTrigger
  started: string
  phase: RunPhase
  /** Files read or found unchanged so far (while scanning: files found so far). */
  filesDone: number
  /** Files of the session; null while the scan has not finished. */
  filesTotal: number | null
  bytesDone: number
  bytesTotal: number | null
  /** Bytes sent to the stores so far (after dedup, compression and erasure coding). */
  bytesStored: number
  /** 0-100 by bytes (by files when there are no bytes); null while not known. */
  percent: number | null
  /** Bytes read per second since reading began (0 before). */
  rate: number
  /** Seconds left at that rate; null while not known. */
  etaSeconds: number | null
  /** Asked to stop (cancel): the session is winding down. */
  cancelling: boolean
}

/**
 * The progress of one run, folded from its session's events (pure: the time comes in with each event).
 * The rate is bytes read over the time since reading began (files found unchanged left out), steady enough
 * for an ETA.
 */
export class RunProgressTracker {
  private state: RunProgress
  private readStartedAt?: number
  private readStartBytes = 0

  constructor (init: { id: string, set: string, trigger: SessionTrigger, started: string }) {
    this.state = { ...init, phase: 'queued', filesDone: 0, filesTotal: null, bytesDone: 0, bytesTotal: null, bytesStored: 0, percent: null, rate: 0, etaSeconds: null, cancelling: false }
  }

  get progress (): RunProgress { return { ...this.state } }

  /** The session began (its turn came). */
  begin (): void {
    if (this.state.phase === 'queued') this.state.phase = 'scanning'
  }

  cancel (): void { this.state.cancelling = true }

  /** Folds one event in; true when the phase changed (worth telling at once rather than throttled). */
  apply (event: SessionEvent, now: number): boolean {
    const s = this.state
    const before = s.phase
    switch (event.type) {
      case 'backup:phase':
        if (event.phase === 'scan') s.phase = 'scanning'
        else if (event.phase === 'read') { s.phase = 'backing up'; s.filesDone = 0; s.bytesDone = 0 }
        else s.phase = 'finishing'
        break
      case 'scan:progress':
        s.phase = 'scanning'
        s.filesDone = event.files
        s.bytesDone = event.bytes
        break
      case 'backup:progress':
        s.filesDone = event.filesDone
        s.filesTotal = event.filesTotal
        s.bytesDone = event.bytesDone
        s.bytesTotal = event.bytesTotal
        s.bytesStored = event.bytesStored
        // the rate counts from the first progress of the read phase (files found unchanged are in it already)
        if (this.readStartedAt == null) { this.readStartedAt = now; this.readStartBytes = event.bytesDone }
        // every file read, the last packs still on their way to the stores
        if (s.phase === 'backing up' && event.filesDone >= event.filesTotal) s.phase = 'uploading'
        break
      default:
        break
    }
    this.derive(now)
    return s.phase !== before
  }

  /** The session is over (its report is kept): everything it did is done. */
  finish (now: number): RunProgress {
    const s = this.state
    s.phase = 'finishing'
    this.derive(now)
    return this.progress
  }

  private derive (now: number): void {
    const s = this.state
    if (s.phase === 'scanning' || s.phase === 'queued') {
      s.percent = null
      s.etaSeconds = null
      return
    }
    if (s.bytesTotal != null && s.bytesTotal > 0) s.percent = Math.min(100, (s.bytesDone / s.bytesTotal) * 100)
    else if (s.filesTotal != null && s.filesTotal > 0) s.percent = Math.min(100, (s.filesDone / s.filesTotal) * 100)
    else if (s.filesTotal != null) s.percent = s.phase === 'finishing' || s.phase === 'uploading' ? 100 : 0
    const elapsed = this.readStartedAt != null ? (now - this.readStartedAt) / 1000 : 0
    s.rate = elapsed > 0 ? Math.max(0, s.bytesDone - this.readStartBytes) / elapsed : 0
    if (s.bytesTotal == null) s.etaSeconds = null
    else if (s.bytesDone >= s.bytesTotal) s.etaSeconds = 0
    else s.etaSeconds = s.rate > 0 ? Math.ceil((s.bytesTotal - s.bytesDone) / s.rate) : null
  }
}
