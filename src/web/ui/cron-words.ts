const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

/**
 * A cron expression in words, for the common forms ("every day at 03:00", "every 15 minutes",
 * "Mondays and Fridays at 22:30"); undefined for the others (the page shows the expression itself).
 */
export function cronInWords (cron: string): string | undefined {
  const f = cron.trim().split(/\s+/)
  if (f.length !== 5) return undefined
  const [min, hour, dom, mon, dow] = f
  const num = (s: string, max: number): number | undefined => /^\d{1,2}$/.test(s) && Number(s) <= max ? Number(s) : undefined
  if (mon !== '*') return undefined
  if (min === '*' && hour === '*' && dom === '*' && dow === '*') return 'every minute'
  const step = /^\*\/(\d+)$/.exec(min)
  if (step != null && hour === '*' && dom === '*' && dow === '*') return `every ${step[1]} minutes`
  const m = num(min, 59)
  if (m == null) return undefined
  if (hour === '*' && dom === '*' && dow === '*') return `every hour at ${m} past`
  const hStep = /^\*\/(\d+)$/.exec(hour)
  if (hStep != null && dom === '*' && dow === '*') return `every ${hStep[1]} hours at ${m} past`
  const hours = hour.split(',').map(h => num(h, 23))
  if (hours.some(h => h == null)) return undefined
  const at = `at ${hours.map(h => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`).join(' and ')}`
  if (dom === '*' && dow === '*') return `every day ${at}`
  if (dom === '*') {
    if (dow === '1-5') return `weekdays ${at}`
    if (dow === '0,6' || dow === '6,0') return `weekends ${at}`
    const days = dow.split(',').map(d => num(d, 7))
    if (days.some(d => d == null)) return undefined
    const names = days.map(d => `${DAYS[d! % 7]}s`)
    return `${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}` : names[0]} ${at}`
  }
  const day = num(dom, 31)
  if (day != null && dow === '*') return `every month on day ${day} ${at}`
  return undefined
}
