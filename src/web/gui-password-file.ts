import { createHmac, randomBytes } from 'node:crypto'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, TooManyRequestsError } from '../errors.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import { parsePasswordHash, verifyPassword, type PasswordHash } from './gui-password.js'

/** HOME/gui.json (0600): the dashboard's settings that are no one else's business; today its password's hash. */
export const guiSettingsPath = (home: string): string => join(home, 'gui.json')

/** The stored GUI password's hash, or undefined when none is set (no file, or no password in it). */
export async function readGuiPassword (home: string): Promise<PasswordHash | undefined> {
  const settings = await readSettings(home)
  return settings.password == null ? undefined : parsePasswordHash(settings.password)
}

/** Stores `hash` as the GUI password (undefined: removes it); gui.json is written whole (temporary file, rename). */
export async function writeGuiPassword (home: string, hash: PasswordHash | undefined): Promise<void> {
  const settings = await readSettings(home)
  if (hash == null) delete settings.password
  else settings.password = hash
  await writeFileAtomic(guiSettingsPath(home), JSON.stringify(settings, null, 2) + '\n', 0o600)
}

async function readSettings (home: string): Promise<Record<string, unknown>> {
  let text: string
  try { text = await readFile(guiSettingsPath(home), 'utf8') } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw err
  }
  let value: unknown
  try { value = JSON.parse(text) } catch { throw new ConfigError(`${guiSettingsPath(home)} is not JSON: set the password again (holdfast gui password)`) }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(`${guiSettingsPath(home)} must hold an object`)
  return value as Record<string, unknown>
}

/** How long a password that passed is remembered (WebDAV clients send it with every request). */
const REMEMBER_MS = 10 * 60_000
/** scrypt checks run at once (32 MiB each), and how many more may wait their turn. */
const CHECKS_AT_ONCE = 2
const CHECKS_WAITING = 32

/**
 * The GUI password as a running daemon sees it: HOME/gui.json read again whenever it changed (a password
 * set or removed with `holdfast gui password` counts from the next request, no restart). A file that
 * cannot be read fails every check that needs it (closed, not open). At most CHECKS_AT_ONCE scrypt
 * checks run at once (sign-ins from many addresses cannot take the machine's memory); beyond
 * CHECKS_WAITING waiting, a check is refused with TooManyRequestsError.
 */
export class GuiPasswordFile {
  private seen?: { key: string, hash: PasswordHash | undefined }
  /** Passwords that passed, as HMACs under a key of this process, until when they are taken without scrypt. */
  private readonly passed = new Map<string, number>()
  private readonly hmacKey = randomBytes(32)
  private running = 0
  private readonly waiting: Array<() => void> = []

  private readonly now: () => number
  private readonly check: typeof verifyPassword

  /** `now` and `check` are the clock and the scrypt check (stand-ins in tests that must hold a check open). */
  constructor (private readonly home: string, options: { now?: () => number, check?: typeof verifyPassword } = {}) {
    this.now = options.now ?? Date.now
    this.check = options.check ?? verifyPassword
  }

  /** The hash in force, or undefined when no password is set. */
  async current (): Promise<PasswordHash | undefined> {
    let key: string
    try {
      const s = await stat(guiSettingsPath(this.home), { bigint: true })
      key = `${s.ino}:${s.size}:${s.mtimeNs}`
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      key = 'none'
    }
    if (this.seen?.key !== key) {
      this.seen = { key, hash: key === 'none' ? undefined : await readGuiPassword(this.home) }
      this.passed.clear()
    }
    return this.seen.hash
  }

  /** Whether `password` is the GUI password (false when none is set). */
  async verify (password: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const hash = await this.current()
    if (hash == null) return false
    const mac = createHmac('sha256', this.hmacKey).update(hash.salt).update('\0').update(password).digest('base64')
    const until = this.passed.get(mac)
    if (until != null && until > this.now()) return true
    const ok = await this.inTurn(async () => await this.check(hash, password, options))
    if (ok && this.seen?.hash === hash) {
      if (this.passed.size >= 16) this.passed.clear()
      this.passed.set(mac, this.now() + REMEMBER_MS)
    }
    return ok
  }

  private async inTurn<T> (fn: () => Promise<T>): Promise<T> {
    if (this.running >= CHECKS_AT_ONCE) {
      if (this.waiting.length >= CHECKS_WAITING) throw new TooManyRequestsError('too many sign-ins at once: try again in a moment')
      await new Promise<void>(resolve => this.waiting.push(resolve))
    } else {
      this.running++
    }
    try {
      return await fn()
    } finally {
      // the turn passes to the next waiting check, or the slot is freed
      const next = this.waiting.shift()
      if (next != null) next()
      else this.running--
    }
  }
}
