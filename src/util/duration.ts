/**
 * Durations as users type them (--lock-wait 30s, 5m, 1h30m) and as messages show an age ("2m10s"):
 * short and unambiguous, unlike the clock-style formatDuration of progress lines.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * Milliseconds of a duration such as 30s, 5m, 1h30m, 500ms or 2d; a bare number is seconds ("0" is no
 * time at all). RangeError for anything else, so a typo never becomes a silent default.
 */
export function parseDuration (text: string): number {
  const t = text.trim().toLowerCase()
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000)
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y
  let ms = 0
  let at = 0
  while (at < t.length) {
    part.lastIndex = at
    const m = part.exec(t)
    if (m == null) throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. 30s, 5m, 1h30m)`)
    ms += Number(m[1]) * UNIT_MS[m[2]]
    at = part.lastIndex
  }
  if (at === 0 || !Number.isFinite(ms)) throw new RangeError(`not a duration: ${JSON.stringify(text)} (use e.g. 30s, 5m, 1h30m)`)
  return Math.round(ms)
}

/** A duration in its two largest units: 45s, 2m10s, 3h05m, 2d4h (rounded down to the second). */
export function formatAge (ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  const pad = (n: number): string => String(n).padStart(2, '0')
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor(s / 60) % 60)}m`
  return `${Math.floor(s / 86400)}d${Math.floor(s / 3600) % 24}h`
}
