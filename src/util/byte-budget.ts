import { AbortedError } from '../errors.js'

/**
 * An async semaphore counted in bytes: producers wait while more than `capacity` bytes are in flight.
 * A single request larger than the capacity is let through when nothing else is held, so it cannot
 * deadlock.
 */
export class ByteBudget {
  private used = 0
  private waiters: Array<{ bytes: number, resolve: () => void, reject: (e: Error) => void }> = []

  constructor (readonly capacity: number) {}

  async acquire (bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) throw new AbortedError('aborted while waiting', { cause: signal.reason })
    if (this.waiters.length === 0 && (this.used + bytes <= this.capacity || this.used === 0)) {
      this.used += bytes
      return
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(w)
        if (i >= 0) {
          this.waiters.splice(i, 1)
          reject(new AbortedError('aborted while waiting', { cause: signal?.reason }))
          this.grant() // those queued behind it may fit now
        }
      }
      // the listener goes when the wait ends, or a long session would pile them up on one signal
      const w = { bytes, resolve: () => { signal?.removeEventListener('abort', onAbort); resolve() }, reject }
      this.waiters.push(w)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  release (bytes: number): void {
    this.used -= bytes
    this.grant()
  }

  private grant (): void {
    while (this.waiters.length > 0) {
      const w = this.waiters[0]
      if (this.used + w.bytes > this.capacity && this.used !== 0) break
      this.waiters.shift()
      this.used += w.bytes
      w.resolve()
    }
  }
}
