import { useEffect, useState } from 'preact/hooks'

export interface Resource<T> { data?: T, error?: Error, loading: boolean }

/** Loads `load()` now and every `refreshMs` (the daemon's state moves on); aborts when the page goes. */
export function useResource<T> (load: (signal: AbortSignal) => Promise<T>, deps: unknown[] = [], refreshMs = 5000): Resource<T> {
  const [state, setState] = useState<Resource<T>>({ loading: true })
  useEffect(() => {
    const controller = new AbortController()
    let timer: ReturnType<typeof setTimeout> | undefined
    const run = async (): Promise<void> => {
      try {
        const data = await load(controller.signal)
        setState({ data, loading: false })
      } catch (err) {
        if (controller.signal.aborted) return
        setState(s => ({ data: s.data, error: err as Error, loading: false }))
      }
      if (!controller.signal.aborted && refreshMs > 0) timer = setTimeout(() => { void run() }, refreshMs)
    }
    void run()
    return () => { controller.abort(); clearTimeout(timer) }
  }, deps)
  return state
}
