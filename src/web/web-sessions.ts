import { randomBytes, timingSafeEqual } from 'node:crypto'

/** The browser's session cookie. */
export const SESSION_COOKIE = 'holdfast_session'
/** The header a browser's state-changing call carries its session's CSRF token in. */
export const CSRF_HEADER = 'x-csrf-token'

interface WebSession { csrf: string, expires: number, stamp: string }

/**
 * The dashboard's sessions: a random id (the HttpOnly, SameSite=Strict cookie) and a CSRF token the page
 * reads from /api/v1/session and sends with every call that changes something. Held in memory only (a
 * daemon restart signs everyone out); each lasts `ttlMs` after its last use; at most `max` at once (the
 * oldest goes first). A session carries the stamp of the GUI password it was made under (its salt; '' for
 * none): once the password is set, changed or removed, the sessions made before are over.
 */
export class WebSessions {
  private readonly sessions = new Map<string, WebSession>()
  constructor (private readonly ttlMs = 12 * 3600_000, private readonly max = 1000, private readonly now: () => number = Date.now) {}

  create (stamp = ''): { id: string, csrf: string } {
    this.sweep()
    while (this.sessions.size >= this.max) this.sessions.delete(this.sessions.keys().next().value!)
    const id = randomBytes(32).toString('base64url')
    const csrf = randomBytes(32).toString('base64url')
    this.sessions.set(id, { csrf, expires: this.now() + this.ttlMs, stamp })
    return { id, csrf }
  }

  /** The session's CSRF token when `id` names a live session made under `stamp` (its life extended); else undefined. */
  touch (id: string | undefined, stamp = ''): string | undefined {
    if (id == null || id === '') return undefined
    const s = this.sessions.get(id)
    if (s == null) return undefined
    if (s.expires <= this.now() || s.stamp !== stamp) { this.sessions.delete(id); return undefined }
    s.expires = this.now() + this.ttlMs
    return s.csrf
  }

  /** Whether `given` is the CSRF token of the live session `id`. */
  checkCsrf (id: string | undefined, given: string | undefined, stamp = ''): boolean {
    const want = this.touch(id, stamp)
    if (want == null || given == null) return false
    const a = Buffer.from(want)
    const b = Buffer.from(given)
    return a.length === b.length && timingSafeEqual(a, b)
  }

  end (id: string | undefined): void {
    if (id != null) this.sessions.delete(id)
  }

  private sweep (): void {
    const now = this.now()
    for (const [id, s] of this.sessions) if (s.expires <= now) this.sessions.delete(id)
  }
}
