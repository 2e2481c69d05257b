import '../src/polyfill.js'
/**
 * Erasure-coding throughput on one core: codec.encode / codec.decode called back to back on the main
 * thread, exactly as the pipeline calls them. Each encode therefore allocates its own fresh data and parity
 * buffers, copies the pack into the data buffer and zero-fills the padding, as the real codec does;
 * each decode allocates its output. Throughput is pack (data) bytes per wall-clock second, in GB/s (1e9).
 *
 * One extra row, "kernel only", times the bare GF(2^8) kernel on preallocated buffers: the ceiling the
 * codec's allocation and copying leave room for. It is not the figure that passes or fails.
 *
 * Usage: node dist/scripts/bench-erasure.js [--json] [--seconds N] [--backend NAME]
 *   --backend  scalar | avx2 | gfni-avx2 | gfni-avx512 (forces the native kernel's SIMD path), or js
 *              (the portable fallback); default: the best the CPU supports.
 */
import { cpus } from 'node:os'
import { CauchyCodec } from '../src/erasure/index.js'
import { mulAdd, MulAdd, native } from '../src/erasure/gf-kernel.js'
import { cauchyMatrix, mulAddJs } from '../src/erasure/gf256.js'

const TARGET_GBPS = 3
const ISAL_REFERENCE_GBPS = 7.6
const MiB = 1024 * 1024

interface Case {
  label: string
  op: 'encode' | 'decode' | 'kernel'
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
  { label: 'kernel only 10+4', op: 'kernel', k: 10, m: 4, shardSize: MiB, lost: [] }
]

async function measure (c: Case, seconds: number, kernel: MulAdd): Promise<Result> {
  const codec = new CauchyCodec(c.k, c.m, kernel)
  const length = c.k * c.shardSize
  // Random-looking bytes, as packs are ciphertext; the kernels' speed does not depend on the values.
  const data = new Uint8Array(length)
  for (let i = 0; i < length; i++) data[i] = Math.imul(i, 2654435761) >>> 24
  const { shards } = await codec.encode(data)
  const present = shards.map((s, i) => c.lost.includes(i) ? null : s)
  const parityRows = cauchyMatrix(c.k, c.m)
  const parity = Array.from({ length: c.m }, () => new Uint8Array(c.shardSize))
  const dataShards = shards.slice(0, c.k)
  const once = c.op === 'encode'
    ? async () => { await codec.encode(data) }
    : c.op === 'decode'
      ? async () => { await codec.decode(present, c.shardSize, length) }
      : async () => { kernel(parityRows, c.m, c.k, dataShards, parity, c.shardSize) }

  // Warm-up: page in the buffers, let the allocator and the JIT settle.
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

interface Args { json: boolean, seconds: number, backend: string | null }

function parseArgs (argv: string[]): Args {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag)
    return i >= 0 ? argv[i + 1] : undefined
  }
  const secondsArg = value('--seconds')
  const seconds = secondsArg === undefined ? 3 : Number(secondsArg)
  if (!(seconds > 0)) throw new Error('--seconds needs a positive number')
  const backend = value('--backend') ?? null
  if (argv.includes('--backend') && backend === null) throw new Error('--backend needs a name')
  return { json: argv.includes('--json'), seconds, backend }
}

/** The kernel to run and its description, after applying --backend. */
function selectKernel (backend: string | null): { kernel: MulAdd, description: string } {
  if (backend === 'js') return { kernel: mulAddJs, description: 'js' }
  if (native === null) {
    if (backend !== null) throw new Error(`--backend ${backend}: the native addon is not loaded (run npx node-gyp rebuild)`)
    return { kernel: mulAdd, description: 'js (native addon not loaded)' }
  }
  if (backend !== null) native.setBackend(backend)
  return { kernel: mulAdd, description: `native/${native.backend()}` }
}

async function main (): Promise<void> {
  const { json, seconds, backend } = parseArgs(process.argv.slice(2))
  const { kernel, description } = selectKernel(backend)
  const results: Result[] = []
  for (const c of CASES) results.push(await measure(c, seconds, kernel))
  const headline = results[0]
  const pass = headline.gbps >= TARGET_GBPS

  if (json) {
    console.log(JSON.stringify({
      cpu: cpus()[0]?.model,
      node: process.version,
      kernel: description,
      availableBackends: native?.backends() ?? [],
      targetGBps: TARGET_GBPS,
      isalReferenceGBps: ISAL_REFERENCE_GBPS,
      pass,
      results: results.map((r) => ({
        case: r.label,
        op: r.op,
        k: r.k,
        m: r.m,
        shardSize: r.shardSize,
        dataBytesPerOp: r.k * r.shardSize,
        iterations: r.iterations,
        seconds: round(r.seconds, 3),
        msPerOp: round(r.msPerOp, 3),
        medianMs: round(r.medianMs, 3),
        GBps: round(r.gbps, 3)
      }))
    }, null, 2))
    return
  }

  console.log(`CPU ${cpus()[0]?.model ?? 'unknown'}, Node ${process.version}, kernel ${description}` +
    (native === null ? '' : ` (CPU supports: ${native.backends().join(', ')})`))
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
  console.log(`${pass ? 'PASS' : 'FAIL'}: codec.encode 10+4 at ${headline.gbps.toFixed(2)} GB/s ` +
    `(target ${TARGET_GBPS} GB/s; ISA-L reference ${ISAL_REFERENCE_GBPS} GB/s)`)
}

function round (x: number, digits: number): number {
  return Number(x.toFixed(digits))
}

try {
  await main()
} catch (err) {
  console.error(`bench-erasure: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 2
}
