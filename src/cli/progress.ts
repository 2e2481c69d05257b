import { formatBytes, formatDuration } from '../util/format.js'

/**
 * A one-line progress bar on a terminal (stderr): percentage, bytes, rate and ETA. Does nothing when
 * stderr is not a terminal, so logs and pipes stay clean.
 */
export class ProgressBar {
  private readonly enabled: boolean
  private readonly started = Date.now()
  private lastWidth = 0

  constructor (private readonly label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = stream.isTTY === true
    this.stream = stream
  }

  private readonly stream: NodeJS.WriteStream

  update (done: number, total: number, extra = ''): void {
    if (!this.enabled) return
    const elapsed = (Date.now() - this.started) / 1000
    const rate = elapsed > 0 ? done / elapsed : 0
    const frac = total > 0 ? Math.min(1, done / total) : 0
    const eta = rate > 0 ? ((total - done) / rate) * 1000 : Infinity
    const width = 24
    const fill = Math.round(frac * width)
    const bar = '='.repeat(Math.max(0, fill - 1)) + (fill > 0 ? '>' : '') + ' '.repeat(width - fill)
    const line = `${this.label} [${bar}] ${(frac * 100).toFixed(1)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${formatDuration(eta)}${extra !== '' ? '  ' + extra : ''}`
    const cols = this.stream.columns ?? 120
    const text = line.slice(0, cols - 1)
    this.stream.write('\r' + text + ' '.repeat(Math.max(0, this.lastWidth - text.length)))
    this.lastWidth = text.length
  }

  message (text: string): void {
    if (!this.enabled) return
    this.stream.write('\r' + text.slice(0, (this.stream.columns ?? 120) - 1) + ' '.repeat(Math.max(0, this.lastWidth - text.length)))
    this.lastWidth = text.length
  }

  done (): void {
    if (!this.enabled || this.lastWidth === 0) return
    this.stream.write('\r' + ' '.repeat(this.lastWidth) + '\r')
    this.lastWidth = 0
  }
}
