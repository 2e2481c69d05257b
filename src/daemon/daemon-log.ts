/** One line of the daemon's recent log. */
export interface LogEntry {
  time: string
  level: 'info' | 'warning' | 'error'
  message: string
}

/**
 * The daemon's recent log, kept in memory for the dashboard (the newest `capacity` lines; what the
 * daemon prints goes to its own output as before). Lines are plain text the daemon wrote: no secrets.
 */
export class DaemonLog {
  private readonly lines: LogEntry[] = []
  constructor (private readonly capacity = 500, private readonly now: () => Date = () => new Date()) {}

  add (level: LogEntry['level'], message: string): void {
    this.lines.push({ time: this.now().toISOString(), level, message: message.length > 2000 ? `${message.slice(0, 2000)}...` : message })
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity)
  }

  /** The newest lines first, at most `limit`, at least at `level` when given. */
  list (options: { limit?: number, level?: LogEntry['level'] } = {}): LogEntry[] {
    const rank = { info: 0, warning: 1, error: 2 }
    const min = options.level != null ? rank[options.level] : 0
    const out: LogEntry[] = []
    for (let i = this.lines.length - 1; i >= 0 && out.length < (options.limit ?? 100); i--) {
      if (rank[this.lines[i].level] >= min) out.push(this.lines[i])
    }
    return out
  }
}
