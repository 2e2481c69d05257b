/**
 * Failures in a row per key, and one timer that tries again the keys that failed at most `attempts`
 * times: after baseMs x 2^(fewest failures - 1). A key that succeeds is forgotten. For services that
 * reach their peers in the background (device-service, kit-escrow-service).
 */
export class RetryBackoff {
  private readonly failures = new Map<string, number>()
  private timer?: ReturnType<typeof setTimeout>

  constructor (private readonly init: { attempts: number, baseMs: number, retry: (keys: string[]) => void }) {}

  /** Records a failure of `key`; how many in a row it has now. */
  failed (key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1
    this.failures.set(key, n)
    return n
  }

  succeeded (key: string): void {
    this.failures.delete(key)
  }

  /** (Re)arms the timer for the keys still to try; none left: nothing is armed. */
  schedule (): void {
    this.cancel()
    const due = [...this.failures].filter(([, n]) => n <= this.init.attempts)
    if (due.length === 0) return
    const delay = this.init.baseMs * 2 ** (Math.min(...due.map(([, n]) => n)) - 1)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.init.retry(due.map(([key]) => key))
    }, delay)
    this.timer.unref?.()
  }

  cancel (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }
}
