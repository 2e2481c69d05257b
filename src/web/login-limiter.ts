/** What the limiter says of one sign-in attempt. */
export type LoginAttempt =
  | { allowed: true, /** call with the outcome once the password is checked */ done: (success: boolean) => void }
  | { allowed: false, /** how long until the next attempt is taken */ retryAfterMs: number }

export interface LoginLimiterInit {
  /** Failed attempts per client within `windowMs` before the next ones are refused (default 5). */
  maxFailures?: number
  /** default 60 s */
  windowMs?: number
  /** Clients remembered at once (the oldest are forgotten first; default 10000). */
  maxClients?: number
  now?: () => number
}

/**
 * Limits sign-in attempts per client address: after `maxFailures` failures within `windowMs`, every
 * attempt is refused (a right password too) until the oldest of them is `windowMs` old. An attempt under
 * way counts as a failure until it is over, so that guesses sent at once cannot slip past the count. A
 * success forgets the client's failures. In memory only; pure (the clock is injected).
 */
export class LoginLimiter {
  private readonly maxFailures: number
  private readonly windowMs: number
  private readonly maxClients: number
  private readonly now: () => number
  /** per client: the times of its recent failures, and its attempts under way */
  private readonly clients = new Map<string, { failures: number[], pending: number }>()

  constructor (init: LoginLimiterInit = {}) {
    this.maxFailures = init.maxFailures ?? 5
    this.windowMs = init.windowMs ?? 60_000
    this.maxClients = init.maxClients ?? 10_000
    this.now = init.now ?? Date.now
  }

  attempt (client: string): LoginAttempt {
    const now = this.now()
    let entry = this.clients.get(client)
    if (entry != null) entry.failures = entry.failures.filter(t => t > now - this.windowMs)
    if (entry != null && entry.failures.length + entry.pending >= this.maxFailures) {
      const oldest = entry.failures[0] ?? now
      return { allowed: false, retryAfterMs: Math.max(1000, oldest + this.windowMs - now) }
    }
    if (entry == null) {
      while (this.clients.size >= this.maxClients) this.clients.delete(this.clients.keys().next().value!)
      entry = { failures: [], pending: 0 }
      this.clients.set(client, entry)
    }
    const e = entry
    e.pending++
    let over = false
    return {
      allowed: true,
      done: success => {
        if (over) return
        over = true
        e.pending--
        if (success) e.failures = []
        else e.failures.push(this.now())
        if (e.failures.length === 0 && e.pending === 0) this.clients.delete(client)
      }
    }
  }
}
