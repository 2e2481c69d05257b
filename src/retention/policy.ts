import { EmptyPolicyError, InvalidPolicyError } from '../errors.js'

/**
 * Retention rules, with restic's semantics: counts per rule, -1 meaning unlimited. Every rule keeps what
 * it selects; a snapshot that no rule selects is removed. Archived snapshots are always kept and take no
 * slot of the other rules (pinning one does not push another out).
 */
export interface RetentionPolicy {
  last?: number
  hourly?: number
  daily?: number
  weekly?: number
  monthly?: number
  yearly?: number
  /** Snapshots with any of these tags are kept. */
  tags?: string[]
}

export interface RetentionSnapshot {
  id: string
  /** ISO time */
  time: string
  hostname: string
  paths: string[]
  tags?: string[]
  archived?: boolean
}

export interface RetentionDecision {
  id: string
  keep: boolean
  /** Why it is kept: 'last', 'hourly', ..., 'tag:NAME', 'archived'. Empty when removed. */
  reasons: string[]
}

export interface RetentionGroup {
  hostname: string
  paths: string[]
  /** Newest first. */
  decisions: RetentionDecision[]
}

const BUCKET_RULES = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const

/** Refuses a policy that keeps nothing (forgetting everything by accident) or has bad counts. */
export function validatePolicy (policy: RetentionPolicy): void {
  let any = false
  for (const k of ['last', ...BUCKET_RULES] as const) {
    const n = policy[k]
    if (n == null) continue
    if (!Number.isInteger(n) || n < -1 || n === 0) throw new InvalidPolicyError(`keep-${k} must be a positive whole number or -1 (all), got ${String(n)}`)
    any = true
  }
  if (policy.tags != null && policy.tags.length > 0) any = true
  if (!any) throw new EmptyPolicyError('the retention policy has no rule: it would remove every snapshot')
}

/** The bucket of a time for a rule, in local time as restic does; ISO weeks for `weekly`. */
export function bucketOf (rule: typeof BUCKET_RULES[number], d: Date): string {
  const y = d.getFullYear()
  const m = d.getMonth() + 1
  switch (rule) {
    case 'hourly': return `${y}-${m}-${d.getDate()} ${d.getHours()}`
    case 'daily': return `${y}-${m}-${d.getDate()}`
    case 'monthly': return `${y}-${m}`
    case 'yearly': return `${y}`
    case 'weekly': {
      // ISO 8601: the week belongs to the year of its Thursday
      const t = new Date(y, d.getMonth(), d.getDate())
      const day = (t.getDay() + 6) % 7
      t.setDate(t.getDate() - day + 3)
      const firstThursday = new Date(t.getFullYear(), 0, 4)
      const week = 1 + Math.round(((t.getTime() - firstThursday.getTime()) / 86400000 - 3 + ((firstThursday.getDay() + 6) % 7)) / 7)
      return `${t.getFullYear()}-W${week}`
    }
  }
}

/** Decides, per group of host and paths, which snapshots the policy keeps. */
export function applyPolicy (snapshots: RetentionSnapshot[], policy: RetentionPolicy): { groups: RetentionGroup[] } {
  validatePolicy(policy)
  const groups = new Map<string, { hostname: string, paths: string[], members: RetentionSnapshot[] }>()
  for (const s of snapshots) {
    const paths = [...s.paths].sort()
    const key = JSON.stringify([s.hostname, paths])
    let g = groups.get(key)
    if (g == null) groups.set(key, g = { hostname: s.hostname, paths, members: [] })
    g.members.push(s)
  }
  const out: RetentionGroup[] = []
  for (const g of [...groups.values()].sort((a, b) => a.hostname.localeCompare(b.hostname) || a.paths.join('\n').localeCompare(b.paths.join('\n')))) {
    const members = [...g.members].sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || b.id.localeCompare(a.id))
    const reasons = new Map(members.map(s => [s.id, [] as string[]]))
    for (const s of members) {
      if (s.archived === true) reasons.get(s.id)!.push('archived')
      for (const t of policy.tags ?? []) if (s.tags?.includes(t) === true) reasons.get(s.id)!.push(`tag:${t}`)
    }
    const counted = members.filter(s => s.archived !== true)
    if (policy.last != null) {
      const n = policy.last === -1 ? Infinity : policy.last
      counted.slice(0, n).forEach(s => reasons.get(s.id)!.push('last'))
    }
    for (const rule of BUCKET_RULES) {
      const count = policy[rule]
      if (count == null) continue
      let left = count === -1 ? Infinity : count
      let lastBucket: string | undefined
      for (const s of counted) {
        if (left <= 0) break
        const b = bucketOf(rule, new Date(s.time))
        if (b === lastBucket) continue
        lastBucket = b
        reasons.get(s.id)!.push(rule)
        left--
      }
    }
    out.push({ hostname: g.hostname, paths: g.paths, decisions: members.map(s => ({ id: s.id, keep: reasons.get(s.id)!.length > 0, reasons: reasons.get(s.id)! })) })
  }
  return { groups: out }
}
