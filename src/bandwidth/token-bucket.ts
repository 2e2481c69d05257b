/**
 * A token bucket over bytes, with the clock passed in (pure). `reserve` accounts the bytes at once and
 * says how long to wait before sending them; the balance may go negative, so that a request larger than
 * the burst is not starved: it simply waits for the tokens it borrowed.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor (private rate: number, private readonly burst: number, now: number) {
    this.tokens = burst
    this.last = now
  }

  get unlimited (): boolean {
    return !(this.rate > 0) || this.rate === Infinity
  }

  setRate (rate: number, now: number): void {
    this.refill(now)
    this.rate = rate
  }

  /** Milliseconds to wait before `bytes` may go (0: now). */
  reserve (bytes: number, now: number): number {
    if (this.unlimited) return 0
    this.refill(now)
    this.tokens -= bytes
    return this.tokens >= 0 ? 0 : (-this.tokens / this.rate) * 1000
  }

  private refill (now: number): void {
    if (this.unlimited) { this.last = now; return }
    const elapsed = Math.max(0, now - this.last)
    this.last = now
    this.tokens = Math.min(this.burst, this.tokens + (elapsed / 1000) * this.rate)
  }
}
