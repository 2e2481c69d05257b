import '../src/polyfill.js'
/**
 * Chunker throughput: chunks 256 MiB of random data with the default parameters and prints MB/s and the
 * average chunk size, for one-shot input (a single push) and for 64 KiB pushes (like a file stream).
 * Usage: node dist/scripts/bench-chunker.js [MiB]
 */
import { randomFillSync } from 'node:crypto'
import { Chunker, DEFAULT_CHUNKER_PARAMS, gearTable } from '../src/chunking/index.js'

const mib = Number(process.argv[2] ?? 256)
const size = mib * 1024 * 1024
const data = new Uint8Array(size)
for (let off = 0; off < size; off += 1 << 26) randomFillSync(data, off, Math.min(1 << 26, size - off))
const gear = gearTable(randomFillSync(new Uint8Array(32)))

function run (label: string, pieceSize: number, input = data): void {
  const n = input.length
  const chunker = new Chunker(gear, DEFAULT_CHUNKER_PARAMS)
  let count = 0
  let total = 0
  const t0 = process.hrtime.bigint()
  for (let off = 0; off < n; off += pieceSize) {
    for (const c of chunker.push(input.subarray(off, Math.min(off + pieceSize, n)))) { count++; total += c.length }
  }
  const last = chunker.finish()
  if (last !== null) { count++; total += last.length }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  if (total !== n) throw new Error('chunks do not add up to the input')
  const mbs = n / 1e6 / seconds
  if (label === '') return
  console.log(`${label.padEnd(16)} ${mbs.toFixed(0).padStart(6)} MB/s  ${count} chunks, average ${(total / count / 1024).toFixed(0)} KiB`)
}

console.log(`chunking ${mib} MiB of random data, params ${JSON.stringify(DEFAULT_CHUNKER_PARAMS)}`)
// Warm-up (lets V8 optimize the hot loop before anything is timed).
run('', size, data.subarray(0, Math.min(size, 32 * 1024 * 1024)))
run('', 64 * 1024, data.subarray(0, Math.min(size, 32 * 1024 * 1024)))
for (let round = 0; round < 2; round++) {
  run('single push', size)
  run('64 KiB pushes', 64 * 1024)
}
