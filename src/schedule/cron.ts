import { CronError } from '../errors.js'

/**
 * Cron expressions, as Vixie cron reads them, with an optional seconds field.
 *
 * - 5 fields: `minute hour day-of-month month day-of-week`; 6 fields: `second minute hour day-of-month month day-of-week`.
 * - Each field is a list `a,b,c` of items; an item is `*`, a number, a range `a-b`, or any of those with a step:
 *   `*\/n`, `a-b/n`, `a/n` (= `a-max/n`).
 * - Months may be named `jan`..`dec`, days of the week `sun`..`sat` (case-insensitive); day of week 7 is Sunday, like 0.
 * - Macros: `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`.
 * - Day of month and day of week: when both are restricted, a day matches if EITHER matches; when either is
 *   unrestricted, both must match (so only the restricted one counts). As in Vixie cron, a field counts as unrestricted
 *   when it starts with `*`, which includes `*\/n`.
 *
 * Times are local wall-clock times (Date's local getters). Around a daylight-saving change: a wall time skipped by
 * the clock moving forward runs at the time Date gives it (02:30 on the night 02:00 becomes 03:00 runs at 03:30), and
 * an hour the clock repeats runs once, in its first occurrence.
 */

interface FieldSpec {
  readonly name: string
  readonly min: number
  readonly max: number
  readonly names?: readonly string[]
  /** Names start at this value (1 for months, 0 for days). */
  readonly nameBase?: number
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

const SECOND: FieldSpec = { name: 'second', min: 0, max: 59 }
const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 }
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 }
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 }
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 }
const DAY_OF_WEEK: FieldSpec = { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 }

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *'
}

/** Longest month for each month 1..12 (February counted as 29, since leap years exist). */
const MAX_DAYS = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * How far `next` searches before giving up. Expressions that can never match are refused at parse time; this
 * bound only guarantees termination. The Gregorian calendar repeats every 400 years, so nothing is missed.
 */
const SEARCH_YEARS = 400

/** The values each field allows, ascending. Day of week uses 0..6 (Sunday = 0). */
export interface CronFields {
  readonly second: readonly number[]
  readonly minute: readonly number[]
  readonly hour: readonly number[]
  readonly dayOfMonth: readonly number[]
  readonly month: readonly number[]
  readonly dayOfWeek: readonly number[]
}

interface ParsedField {
  readonly values: number[]
  /** The field starts with `*` (Vixie cron's DOM_STAR / DOW_STAR). */
  readonly star: boolean
}

function fail (spec: FieldSpec, field: string, why: string): never {
  throw new CronError(`invalid cron ${spec.name} field "${field}": ${why}`)
}

function parseValue (spec: FieldSpec, field: string, text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text)
    if (n < spec.min || n > spec.max) fail(spec, field, `${text} is out of range ${spec.min}-${spec.max}`)
    return n
  }
  if (spec.names != null && /^[a-z]+$/i.test(text)) {
    const i = spec.names.indexOf(text.toLowerCase())
    if (i < 0) fail(spec, field, `unknown name "${text}"`)
    return i + (spec.nameBase ?? 0)
  }
  if (text === '') fail(spec, field, 'empty value')
  fail(spec, field, spec.names != null ? `"${text}" is neither a number nor a name` : `"${text}" is not a number`)
}

function parseField (spec: FieldSpec, field: string): ParsedField {
  const set = new Set<number>()
  for (const item of field.split(',')) {
    if (item === '') fail(spec, field, 'empty list item')
    const slash = item.indexOf('/')
    const rangeText = slash < 0 ? item : item.slice(0, slash)
    let step = 1
    if (slash >= 0) {
      const stepText = item.slice(slash + 1)
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) fail(spec, field, `bad step "${stepText}"`)
      step = Number(stepText)
    }
    let lo: number
    let hi: number
    if (rangeText === '*') {
      lo = spec.min
      hi = spec.max
    } else {
      const dash = rangeText.indexOf('-')
      if (dash < 0) {
        lo = parseValue(spec, field, rangeText)
        hi = slash >= 0 ? spec.max : lo
      } else {
        lo = parseValue(spec, field, rangeText.slice(0, dash))
        hi = parseValue(spec, field, rangeText.slice(dash + 1))
        if (lo > hi) fail(spec, field, `range ${rangeText} runs backwards`)
      }
    }
    for (let v = lo; v <= hi; v += step) set.add(spec === DAY_OF_WEEK && v === 7 ? 0 : v)
  }
  return { values: [...set].sort((a, b) => a - b), star: field.startsWith('*') }
}

function daysInMonth (year: number, month: number): number {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() === 29 && month === 2
    ? ((year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28)
    : MAX_DAYS[month]
}

function weekday (year: number, month: number, day: number): number {
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  return d.getUTCDay()
}

/** First value of `values` (ascending) that is >= v, or undefined. */
function atLeast (values: readonly number[], v: number): number | undefined {
  for (const x of values) if (x >= v) return x
  return undefined
}

/** A wall-clock time; month 1..12. */
interface Wall { y: number, mo: number, d: number, h: number, mi: number, s: number }

export class CronSchedule {
  readonly fields: CronFields
  private readonly sec: Uint8Array
  private readonly min: Uint8Array
  private readonly hr: Uint8Array
  private readonly dom: Uint8Array
  private readonly mon: Uint8Array
  private readonly dow: Uint8Array
  /** Both day fields restricted: a day matches if either matches. */
  private readonly dayEither: boolean

  /** Parses `expr`; throws CronError if it is malformed or can never match. */
  constructor (readonly expr: string) {
    const trimmed = expr.trim()
    if (trimmed === '') throw new CronError('empty cron expression')
    let text = trimmed
    if (text.startsWith('@')) {
      const macro = MACROS[text.toLowerCase()]
      if (macro === undefined) throw new CronError(`unknown cron macro "${text}"`)
      text = macro
    }
    const parts = text.split(/\s+/)
    if (parts.length !== 5 && parts.length !== 6) {
      throw new CronError(`a cron expression has 5 or 6 fields, "${trimmed}" has ${parts.length}`)
    }
    if (parts.length === 5) parts.unshift('0')
    const specs = [SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK]
    const [second, minute, hour, dayOfMonth, month, dayOfWeek] = parts.map((p, i) => parseField(specs[i], p))
    this.fields = {
      second: second.values,
      minute: minute.values,
      hour: hour.values,
      dayOfMonth: dayOfMonth.values,
      month: month.values,
      dayOfWeek: dayOfWeek.values
    }
    const mask = (values: number[]): Uint8Array => {
      const m = new Uint8Array(64)
      for (const v of values) m[v] = 1
      return m
    }
    this.sec = mask(second.values)
    this.min = mask(minute.values)
    this.hr = mask(hour.values)
    this.dom = mask(dayOfMonth.values)
    this.mon = mask(month.values)
    this.dow = mask(dayOfWeek.values)
    this.dayEither = !dayOfMonth.star && !dayOfWeek.star
    if (!this.dayEither && !month.values.some(m => dayOfMonth.values.some(d => d <= MAX_DAYS[m]))) {
      throw new CronError(
        `cron expression "${trimmed}" never matches: day-of-month "${parts[3]}" does not occur in month "${parts[4]}"`)
    }
  }

  /** The first matching time strictly after `after`, in local time (whole seconds; seconds = 0 for 5 fields). */
  next (after: Date): Date {
    const t = after.getTime()
    if (!Number.isFinite(t)) throw new CronError('cron: next() needs a valid date')
    const start = new Date(t)
    const w: Wall = {
      y: start.getFullYear(),
      mo: start.getMonth() + 1,
      d: start.getDate(),
      h: start.getHours(),
      mi: start.getMinutes(),
      s: start.getSeconds()
    }
    const limit = w.y + SEARCH_YEARS
    for (;;) {
      addSecond(w)
      this.seek(w, limit)
      const d = new Date(0)
      d.setFullYear(w.y, w.mo - 1, w.d)
      d.setHours(w.h, w.mi, w.s, 0)
      // A wall time in an hour the clock repeats can map to before `after`: look further.
      if (d.getTime() > t) return d
    }
  }

  private dayMatches (w: Wall): boolean {
    const byDom = this.dom[w.d] === 1
    const byDow = this.dow[weekday(w.y, w.mo, w.d)] === 1
    return this.dayEither ? byDom || byDow : byDom && byDow
  }

  /** Moves `w` forward to the first matching wall time at or after it. */
  private seek (w: Wall, limit: number): void {
    const f = this.fields
    for (;;) {
      if (w.y > limit) throw new CronError(`cron expression "${this.expr}" matches no time within ${SEARCH_YEARS} years`)
      if (this.mon[w.mo] !== 1) {
        const m = atLeast(f.month, w.mo)
        if (m === undefined) { w.y++; w.mo = f.month[0] } else w.mo = m
        w.d = 1; w.h = 0; w.mi = 0; w.s = 0
        continue
      }
      if (!this.dayMatches(w)) {
        nextDay(w)
        continue
      }
      if (this.hr[w.h] !== 1) {
        const h = atLeast(f.hour, w.h)
        if (h === undefined) { nextDay(w); continue }
        w.h = h; w.mi = 0; w.s = 0
      }
      if (this.min[w.mi] !== 1) {
        const mi = atLeast(f.minute, w.mi)
        if (mi === undefined) { nextHour(w); continue }
        w.mi = mi; w.s = 0
      }
      if (this.sec[w.s] !== 1) {
        const s = atLeast(f.second, w.s)
        if (s === undefined) { nextMinute(w); continue }
        w.s = s
      }
      return
    }
  }
}

function nextDay (w: Wall): void {
  w.h = 0; w.mi = 0; w.s = 0
  w.d++
  if (w.d > daysInMonth(w.y, w.mo)) {
    w.d = 1
    w.mo++
    if (w.mo > 12) { w.mo = 1; w.y++ }
  }
}

function nextHour (w: Wall): void {
  w.mi = 0; w.s = 0
  w.h++
  if (w.h > 23) nextDay(w)
}

function nextMinute (w: Wall): void {
  w.s = 0
  w.mi++
  if (w.mi > 59) nextHour(w)
}

function addSecond (w: Wall): void {
  w.s++
  if (w.s > 59) nextMinute(w)
}

/** Parses a cron expression (5 or 6 fields, or a macro); throws CronError if it is malformed or can never match. */
export function parseCron (expr: string): CronSchedule {
  return new CronSchedule(expr)
}
