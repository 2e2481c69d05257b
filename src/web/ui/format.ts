import { ago } from '../overview.js'

/** Bytes in binary units, as the CLI prints them. */
export function bytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`
}

/** "3 min ago", "2 h ago", "5 days ago" from an ISO time (the server's wording, overview.ts). */
export function since (iso: string | null | undefined, now = Date.now()): string {
  return iso == null ? 'never' : ago(now - Date.parse(iso))
}

/** A local date and time, short. */
export function when (iso: string | null | undefined): string {
  if (iso == null) return '-'
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

export function duration (fromIso: string, toIso: string): string {
  const s = Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000))
  if (s < 60) return `${s} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}
