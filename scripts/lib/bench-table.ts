/** The benchmark scripts' tables: figures, ratios against their targets, PASS/FAIL. */
export type Row = [measure: string, holdfast: string, other: string, ratioAndTarget: string, ok: boolean | undefined]

export function fmt (n: number | undefined, digits = 2): string { return n == null || Number.isNaN(n) ? 'n/a' : n.toFixed(digits) }

/** "a/b" as "0.73x (<= 0.8x)", or the bare ratio with no target. */
export function ratio (a: number, b: number, target?: number): string {
  const t = target == null ? '' : ` (<= ${target}x)`
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}x${t}` : t.trim()
}

/** PASS/FAIL of `value <= limit`; undefined (no verdict) when a figure is missing. */
export function atMost (value: number, limit: number): boolean | undefined {
  return Number.isFinite(value) ? value <= limit : undefined
}

export function table (header: [string, string, string, string], rows: Row[]): string {
  const lines = [`| ${header.join(' | ')} | |`, '| --- | --- | --- | --- | --- |']
  for (const [name, h, o, q, ok] of rows) lines.push(`| ${name} | ${h} | ${o} | ${q} | ${ok === undefined ? '' : ok ? 'PASS' : 'FAIL'} |`)
  return lines.join('\n')
}
