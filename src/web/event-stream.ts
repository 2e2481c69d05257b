/** A comment line sent this often keeps proxies and the browser from closing an idle stream. */
const KEEPALIVE_MS = 15_000

/** One server-sent event: its name (`event:`) and its data, sent as JSON. */
export interface StreamEvent { event: string, data: unknown }

/**
 * A `text/event-stream` Response fed by `subscribe`: `initial` events first, then every event the source
 * gives, until the client goes (`signal`) or the source closes (`closed`, the daemon stopping); then the
 * subscription is dropped and the stream ends.
 */
export function eventStream (options: {
  initial: StreamEvent[]
  subscribe: (send: (e: StreamEvent) => void) => () => void
  signal: AbortSignal
  closed: AbortSignal
}): Response {
  const encoder = new TextEncoder()
  let end: (() => void) | undefined
  const body = new ReadableStream<Uint8Array>({
    start (controller) {
      let open = true
      const write = (text: string): void => {
        if (!open) return
        try { controller.enqueue(encoder.encode(text)) } catch { end?.() }
      }
      const send = (e: StreamEvent): void => write(`event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
      const keepalive = setInterval(() => write(': keepalive\n\n'), KEEPALIVE_MS)
      keepalive.unref?.()
      let unsubscribe: (() => void) | undefined
      end = () => {
        if (!open) return
        open = false
        clearInterval(keepalive)
        unsubscribe?.()
        options.signal.removeEventListener('abort', end!)
        options.closed.removeEventListener('abort', end!)
        try { controller.close() } catch {}
      }
      if (options.signal.aborted || options.closed.aborted) { end(); return }
      options.signal.addEventListener('abort', end, { once: true })
      options.closed.addEventListener('abort', end, { once: true })
      write('retry: 3000\n\n')
      for (const e of options.initial) send(e)
      unsubscribe = open ? options.subscribe(send) : undefined
    },
    cancel () { end?.() }
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' } })
}
