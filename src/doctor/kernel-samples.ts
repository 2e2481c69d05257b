/**
 * What the kernel measurements share (`holdfast doctor`, `npm run bench:kernels`): a rate measured over
 * repeated calls, and sample data like what the kernels meet.
 */

/**
 * Bytes per second of `run` in MB/s, each call handling `bytes`: one warm-up call, then calls until `ms`
 * have passed, `rounds` times; the median round counts.
 */
export async function measureRate (bytes: number, ms: number, run: () => unknown, rounds = 1): Promise<number> {
  await run()
  const results: number[] = []
  for (let r = 0; r < rounds; r++) {
    let calls = 0
    const start = performance.now()
    let elapsed = 0
    do {
      await run()
      calls++
      elapsed = performance.now() - start
    } while (elapsed < ms)
    results.push(bytes * calls / elapsed / 1000) // bytes per ms / 1000 = MB/s
  }
  results.sort((a, b) => a - b)
  return Math.round(results[results.length >> 1])
}

/** Ciphertext-like bytes (packs are encrypted); the kernels' speed does not depend on the values. */
export function noiseBytes (length: number): Uint8Array {
  const data = new Uint8Array(length)
  for (let i = 0; i < length; i++) data[i] = Math.imul(i + 1, 2654435761) >>> 24
  return data
}

/** Text-like bytes, about 2:1 compressible, as zstd meets in documents and source trees. */
export function textBytes (length: number): Buffer {
  const words = ['backup', 'restore', 'shard', 'peer', 'snapshot', 'pack', ' ', ' ', '\n', 'the', 'of', '42', '{"k": 7}']
  const out = Buffer.alloc(length)
  let x = 12345
  for (let at = 0; at < length;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    at += out.write(words[(x >>> 16) % words.length], at)
  }
  return out
}
