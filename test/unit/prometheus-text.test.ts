/** The Prometheus text format as /metrics writes it, read back by a Prometheus text parser. */
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { renderMetrics } from '../../src/web/prometheus-text.js'

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Array<{ name: string, help: string, type: string, metrics: Array<{ value: string, labels?: Record<string, string> }> }>

describe('web/prometheus-text', () => {
  it('writes HELP, TYPE and samples that a parser reads back, label values escaped', () => {
    const text = renderMetrics([
      { name: 'holdfast_peer_up', help: 'Whether each peer is up\nnow', type: 'gauge', samples: [{ labels: { peer: 'ann "the" \\ host' }, value: 1 }, { labels: { peer: 'bob\nsmith' }, value: 0 }] },
      { name: 'holdfast_backup_added_bytes_total', help: 'Bytes added', type: 'counter', samples: [{ value: 12345678901 }] },
      { name: 'holdfast_packs', help: 'Packs', type: 'gauge', samples: [] }
    ])
    assert.match(text, /^# HELP holdfast_peer_up Whether each peer is up\\nnow\n# TYPE holdfast_peer_up gauge\n/)
    const families = parse(text)
    assert.deepEqual(families.map(f => [f.name, f.type]), [['holdfast_peer_up', 'GAUGE'], ['holdfast_backup_added_bytes_total', 'COUNTER'], ['holdfast_packs', 'GAUGE']])
    assert.deepEqual(families[0].metrics.map(m => [m.labels?.peer, m.value]), [['ann "the" \\ host', '1'], ['bob\nsmith', '0']])
    assert.equal(families[1].metrics[0].value, '12345678901')
  })

  it('refuses names Prometheus would not accept', () => {
    assert.throws(() => renderMetrics([{ name: 'holdfast-peer', help: '', type: 'gauge', samples: [] }]), /invalid metric name/)
    assert.throws(() => renderMetrics([{ name: 'x', help: '', type: 'gauge', samples: [{ labels: { __name__: 'y' }, value: 1 }] }]), /invalid label name/)
  })
})
