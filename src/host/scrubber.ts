import { OBJECT_KINDS, type ObjectKind } from '../store/shard-store.js'
import type { HostStore } from './host-store.js'

export interface ScrubberInit {
  store: Pick<HostStore, 'owners' | 'list' | 'scrubObject'>
  /** A whole pass over every owner's objects starts this long after the previous one (and after start). */
  periodMs: number
  /** Bytes re-hashed per second at most. */
  bytesPerSecond: number
  onPass?: (pass: ScrubPass) => void
  onError?: (err: Error) => void
}

/** What one pass found. */
export interface ScrubPass {
  objects: number
  bytes: number
  damaged: Array<{ owner: string, kind: ObjectKind, name: string }>
  durationMs: number
}

/**
 * The host's own background check of what it keeps: every period, every owner's objects are re-hashed
 * against their names at a bounded rate (HostStore.scrubObject, which removes a corrupt one and records it
 * for its owner, who learns of it with the shard protocol's `damaged` op). Start/stop; stop aborts a pass.
 */
export class Scrubber {
  private timer?: ReturnType<typeof setTimeout>
  private controller?: AbortController
  private running?: Promise<unknown>

  constructor (private readonly init: ScrubberInit) {}

  start (): void {
    if (this.controller != null) return
    this.controller = new AbortController()
    this.schedule()
  }

  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.controller?.abort()
    this.controller = undefined
    await this.running?.catch(() => {})
  }

  /** One whole pass now. */
  async pass (signal?: AbortSignal): Promise<ScrubPass> {
    const started = Date.now()
    const out: ScrubPass = { objects: 0, bytes: 0, damaged: [], durationMs: 0 }
    for (const owner of this.init.store.owners()) {
      for (const kind of OBJECT_KINDS) {
        for await (const name of this.init.store.list(owner, kind, { signal })) {
          const r = await this.init.store.scrubObject(owner, kind, name, { signal })
          if (r.state === 'absent') continue
          out.objects++
          out.bytes += r.bytes
          if (r.state === 'damaged') out.damaged.push({ owner, kind, name })
          // the rate limit: a pass never reads faster than bytesPerSecond on average
          const ahead = out.bytes / this.init.bytesPerSecond * 1000 - (Date.now() - started)
          if (ahead > 0) await sleep(ahead, signal)
        }
      }
    }
    out.durationMs = Date.now() - started
    return out
  }

  private schedule (): void {
    const controller = this.controller
    if (controller == null) return
    this.timer = setTimeout(() => {
      const p = this.pass(controller.signal).then(r => this.init.onPass?.(r), err => { if (!controller.signal.aborted) this.init.onError?.(err as Error) })
      this.running = p
      void p.finally(() => { this.running = undefined; this.schedule() })
    }, this.init.periodMs)
    this.timer.unref?.()
  }
}

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) { reject(signal.reason); return }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal?.reason) }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
