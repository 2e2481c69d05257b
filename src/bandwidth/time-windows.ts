import { InvalidWindowError } from '../errors.js'
import { parseSize } from '../util/format.js'

/**
 * Time-of-day windows for the rate limits, from config strings such as
 * `Mon-Fri 09:00-17:00 up=512KiB down=2MiB`, `Sat,Sun 00:00-24:00 up=0` or `* 22:00-06:00 up=10MiB`.
 * A limit of 0 means unlimited; a limit a window does not give stays the base one. Local time; a window
 * that wraps past midnight belongs to the day it starts on.
 */
export interface BandwidthWindow {
  /** 0 = Sunday .. 6 = Saturday */
  days: number[]
  /** minutes after midnight; `to` may be smaller than `from` (wraps past midnight) */
  from: number
  to: number
  upload?: number
  download?: number
  source: string
}

export interface RateLimits { upload: number, download: number }

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

export function parseWindow (text: string): BandwidthWindow {
  const fail = (why: string): never => { throw new InvalidWindowError(`bandwidth window ${JSON.stringify(text)}: ${why}`) }
  const parts = text.trim().split(/\s+/)
  if (parts.length < 2) fail('expected "DAYS HH:MM-HH:MM [up=SIZE] [down=SIZE]"')
  const days = parseDays(parts[0], fail)
  const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(parts[1])
  if (m == null) fail(`bad time range ${JSON.stringify(parts[1])}`)
  const from = minutes(Number(m![1]), Number(m![2]), fail)
  const to = minutes(Number(m![3]), Number(m![4]), fail)
  if (from === to) fail('the window is empty')
  const w: BandwidthWindow = { days, from, to, source: text }
  for (const p of parts.slice(2)) {
    const kv = /^(up|down)=(.+)$/.exec(p)
    if (kv == null) fail(`unknown part ${JSON.stringify(p)} (up=SIZE or down=SIZE)`)
    let n = 0
    try { n = parseSize(kv![2]) } catch { fail(`bad size ${JSON.stringify(kv![2])}`) }
    if (kv![1] === 'up') w.upload = n; else w.download = n
  }
  return w
}

function minutes (h: number, mi: number, fail: (why: string) => never): number {
  if (mi > 59 || h > 24 || (h === 24 && mi !== 0)) fail(`bad time ${h}:${String(mi).padStart(2, '0')}`)
  return h * 60 + mi
}

function parseDays (text: string, fail: (why: string) => never): number[] {
  if (text === '*') return [0, 1, 2, 3, 4, 5, 6]
  const out = new Set<number>()
  for (const item of text.toLowerCase().split(',')) {
    const [a, b] = item.split('-')
    const ia = DAYS.indexOf(a.slice(0, 3))
    const ib = b == null ? ia : DAYS.indexOf(b.slice(0, 3))
    if (ia < 0 || ib < 0 || a.length < 3 || (b != null && b.length < 3)) fail(`bad days ${JSON.stringify(text)} (*, or Mon..Sun, ranges and lists)`)
    for (let d = ia; ; d = (d + 1) % 7) { out.add(d); if (d === ib) break }
  }
  return [...out].sort()
}

/** The limits at a time: the first window containing it overrides the base limits it sets. */
export function limitsAt (base: RateLimits, windows: BandwidthWindow[], at: Date): RateLimits {
  const day = at.getDay()
  const min = at.getHours() * 60 + at.getMinutes()
  const yesterday = (day + 6) % 7
  for (const w of windows) {
    const inside = w.from < w.to
      ? w.days.includes(day) && min >= w.from && min < w.to
      : (w.days.includes(day) && min >= w.from) || (w.days.includes(yesterday) && min < w.to)
    if (inside) return { upload: w.upload ?? base.upload, download: w.download ?? base.download }
  }
  return base
}
