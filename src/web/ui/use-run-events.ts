import { useEffect, useState } from 'preact/hooks'
import { EVENTS_URL, type RunEnded, type RunProgress } from './backup-api.js'

/** The latest of each set: its run under way, or how its last run (seen on this page) ended. */
export interface SetRuns {
  running: Map<string, RunProgress>
  ended: Map<string, RunEnded>
  /** False while the event stream is down (the browser reconnects by itself). */
  connected: boolean
}

/** Follows /api/v1/events (EventSource) while the page is open; `onEnd` is told when a run ends. */
export function useRunEvents (onEnd?: (e: RunEnded) => void): SetRuns {
  const [state, setState] = useState<SetRuns>({ running: new Map(), ended: new Map(), connected: false })
  useEffect(() => {
    const source = new EventSource(EVENTS_URL)
    source.onopen = () => setState(s => ({ ...s, connected: true }))
    source.onerror = () => setState(s => ({ ...s, connected: false }))
    source.addEventListener('run:progress', e => {
      const { run } = JSON.parse((e as MessageEvent<string>).data) as { run: RunProgress }
      setState(s => {
        const running = new Map(s.running)
        running.set(run.set, run)
        const ended = new Map(s.ended)
        ended.delete(run.set)
        return { ...s, running, ended }
      })
    })
    source.addEventListener('run:end', e => {
      const end = JSON.parse((e as MessageEvent<string>).data) as RunEnded
      setState(s => {
        const running = new Map(s.running)
        if (running.get(end.run.set)?.id === end.run.id) running.delete(end.run.set)
        const ended = new Map(s.ended)
        ended.set(end.run.set, end)
        return { ...s, running, ended }
      })
      onEnd?.(end)
    })
    return () => source.close()
  }, [])
  return state
}
