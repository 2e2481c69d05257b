import '../src/polyfill.js'
/**
 * Erasure-coding throughput on one core: one operation in flight at a time (each awaited before the next),
 * so exactly one libuv pool thread computes while the main thread only copies. Throughput is pack (data)
 * bytes per wall-clock second, in GB/s (1e9), including the codec's copies in and out of its buffers.
 *
 * Usage: node dist/scripts/bench-erasure.js [--json] [--seconds N]
 */
import { cpus } from 'node:os'
import { RonomonCodec } from '../src/erasure/index.js'

const TARGET_GBPS = 3
const ISAL_REFERENCE_GBPS = 7.6
const MiB = 1024 * 1024

interface Case {
  label: string
  op: 'encode' | 'decode'
  k: number
  m: number
  shardSize: number
  /** Data shards withheld from decode. */
  lost: number[]
}

interface Result extends Case {
  iterations: number
  seconds: number
  msPerOp: number
  /** Median operation time: robust against a noisy neighbour stealing the core for a while. */
  medianMs: number
  gbps: number
}

const CASES: Case[] = [
  { label: 'encode 10+4', op: 'encode', k: 10, m: 4, shardSize: MiB, lost: [] },
  { label: 'decode 10+4, 2 data lost', op: 'decode', k: 10, m: 4, shardSize: MiB, lost: [0, 5] },
  { label: 'encode 4+2', op: 'encode', k: 4, m: 2, shardSize: 4 * MiB, lost: [] },
  { label: 'decode 4+2, 2 data lost', op: 'decode', k: 4, m: 2, shardSize: 4 * MiB, lost: [0, 2] }
]

async function measure (c: Case, seconds: number): Promise<Result> {
  const codec = new RonomonCodec(c.k, c.m)
  const length = c.k * c.shardSize
  // Random-looking bytes, as packs are ciphertext; the engine's speed does not depend on the values.
  const data = new Uint8Array(length)
  for (let i = 0; i < length; i++) data[i] = Math.imul(i, 2654435761) >>> 24
  const { shards } = await codec.encode(data)
  const present = shards.map((s, i) => c.lost.includes(i) ? null : s)
  const once = c.op === 'encode'
    ? async () => { await codec.encode(data) }
    : async () => { await codec.decode(present, c.shardSize, length) }

  // Warm-up: page in the buffers and let the JIT settle.
  const warmUntil = performance.now() + Math.min(500, seconds * 250)
  while (performance.now() < warmUntil) await once()

  const times: number[] = []
  const start = performance.now()
  const end = start + seconds * 1000
  do {
    const t = performance.now()
    await once()
    times.push(performance.now() - t)
  } while (performance.now() < end)
  const elapsed = (performance.now() - start) / 1000
  times.sort((a, b) => a - b)
  return {
    ...c,
    iterations: times.length,
    seconds: elapsed,
    msPerOp: elapsed * 1000 / times.length,
    medianMs: times[times.length >> 1],
    gbps: length * times.length / elapsed / 1e9
  }
}

function parseArgs (argv: string[]): { json: boolean, seconds: number } {
  const i = argv.indexOf('--seconds')
  const seconds = i >= 0 ? Number(argv[i + 1]) : 3
  if (!(seconds > 0)) throw new Error('--seconds needs a positive number')
  return { json: argv.includes('--json'), seconds }
}

async function main (): Promise<void> {
  const { json, seconds } = parseArgs(process.argv.slice(2))
  const results: Result[] = []
  for (const c of CASES) results.push(await measure(c, seconds))
  const headline = results[0]
  const pass = headline.gbps >= TARGET_GBPS

  if (json) {
    console.log(JSON.stringify({
      cpu: cpus()[0]?.model,
      node: process.version,
      targetGBps: TARGET_GBPS,
      isalReferenceGBps: ISAL_REFERENCE_GBPS,
      pass,
      results: results.map((r) => ({
        case: r.label, op: r.op, k: r.k, m: r.m, shardSize: r.shardSize, dataBytesPerOp: r.k * r.shardSize,
        iterations: r.iterations, seconds: round(r.seconds, 3), msPerOp: round(r.msPerOp, 3), medianMs: round(r.medianMs, 3), GBps: round(r.gbps, 3)
      }))
    }, null, 2))
    return
  }

  console.log(`CPU ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}, one operation in flight`)
  console.log('')
  const rows = [['case', 'shard', 'ops', 'ms/op', 'median ms', 'GB/s']]
  for (const r of results) {
    rows.push([r.label, `${r.shardSize / MiB} MiB`, String(r.iterations), r.msPerOp.toFixed(2), r.medianMs.toFixed(2),
      r.gbps.toFixed(2)])
  }
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)))
  for (const row of rows) {
    console.log(row.map((cell, col) => col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col])).join('  '))
  }
  console.log('')
  console.log(`${pass ? 'PASS' : 'FAIL'}: encode 10+4 at ${headline.gbps.toFixed(2)} GB/s ` +
    `(target ${TARGET_GBPS} GB/s; ISA-L reference ${ISAL_REFERENCE_GBPS} GB/s)`)
}

function round (x: number, digits: number): number {
  return Number(x.toFixed(digits))
}

await main()
