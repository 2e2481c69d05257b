import { setTimeout as sleep } from 'node:timers/promises'
import { AbortedError } from '../errors.js'
import { TokenBucket } from './token-bucket.js'
import { BandwidthWindow, limitsAt, RateLimits } from './time-windows.js'

export interface RateLimiterInit {
  /** bytes per second, 0 = unlimited */
  upload: number
  download: number
  windows?: BandwidthWindow[]
  /** Bytes that may go at once before the rate applies (default: a quarter second's worth, at least 64 KiB). */
  burst?: number
  now?: () => number
}

/**
 * The node's upload and download rate limits, shared by every store of a session (or of the daemon),
 * with the time-of-day windows applied at each request.
 */
export class RateLimiter {
  private up: TokenBucket
  private down: TokenBucket
  private readonly now: () => number
  private init: RateLimiterInit

  constructor (init: RateLimiterInit) {
    this.init = init
    this.now = init.now ?? Date.now
    const t = this.now()
    const start = this.limits(t)
    this.up = new TokenBucket(start.upload, this.burstFor(start.upload), t)
    this.down = new TokenBucket(start.download, this.burstFor(start.download), t)
  }

  /**
   * New limits and windows, in place (a reload of the node config): the stores that share this limiter
   * keep it, and their next request waits by the new rates (the buckets start afresh).
   */
  setLimits (limits: Pick<RateLimiterInit, 'upload' | 'download' | 'windows'>): void {
    this.init = { ...this.init, upload: limits.upload, download: limits.download, windows: limits.windows }
    const t = this.now()
    const start = this.limits(t)
    this.up = new TokenBucket(start.upload, this.burstFor(start.upload), t)
    this.down = new TokenBucket(start.download, this.burstFor(start.download), t)
  }

  /** The limits in force now (the base ones, or a window's), bytes per second; 0: unlimited. */
  current (): RateLimits {
    return this.limits(this.now())
  }

  get limited (): boolean {
    return this.init.upload > 0 || this.init.download > 0 || (this.init.windows ?? []).some(w => (w.upload ?? 0) > 0 || (w.download ?? 0) > 0)
  }

  private burstFor (rate: number): number {
    return this.init.burst ?? Math.max(64 * 1024, rate / 4)
  }

  private limits (t: number): RateLimits {
    return limitsAt({ upload: this.init.upload, download: this.init.download }, this.init.windows ?? [], new Date(t))
  }

  async upload (bytes: number, signal?: AbortSignal): Promise<void> {
    await this.take(this.up, 'upload', bytes, signal)
  }

  async download (bytes: number, signal?: AbortSignal): Promise<void> {
    await this.take(this.down, 'download', bytes, signal)
  }

  private async take (bucket: TokenBucket, which: keyof RateLimits, bytes: number, signal?: AbortSignal): Promise<void> {
    const t = this.now()
    bucket.setRate(this.limits(t)[which], t)
    const wait = bucket.reserve(bytes, t)
    if (wait <= 0) return
    try {
      await sleep(Math.ceil(wait), undefined, { signal })
    } catch (err) {
      throw new AbortedError('aborted while waiting for bandwidth', { cause: err })
    }
  }
}
