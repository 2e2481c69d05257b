/**
 * The Prometheus text exposition format (version 0.0.4), written out: one family per metric, its HELP
 * and TYPE lines, then one sample per label set. Pure. (prom-client does this and more, but costs an idle
 * daemon about 12 MiB of memory for what these few lines do; see docs/ARCHITECTURE.md.)
 */
export interface MetricFamily {
  name: string
  help: string
  type: 'gauge' | 'counter'
  samples: Array<{ labels?: Record<string, string>, value: number }>
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

function escapeHelp (s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function escapeLabel (s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function number (v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

export function renderMetrics (families: MetricFamily[]): string {
  const lines: string[] = []
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${f.name}`)
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) {
      const labels = Object.entries(s.labels ?? {})
      for (const [k] of labels) if (!LABEL.test(k) || k.startsWith('__')) throw new Error(`invalid label name ${k}`)
      const l = labels.length > 0 ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : ''
      lines.push(`${f.name}${l} ${number(s.value)}`)
    }
  }
  return lines.join('\n') + '\n'
}
