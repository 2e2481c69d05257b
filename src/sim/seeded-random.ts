/**
 * A seeded pseudo-random source (mulberry32: 32-bit state, fast, good enough for sampling; never for keys):
 * the same seed gives the same simulated network and the same run.
 */
export interface SeededRandom {
  /** A float in [0, 1). */
  next: () => number
  /** An integer in [0, n). */
  below: (n: number) => number
  /** An integer in [lo, hi]. */
  between: (lo: number, hi: number) => number
  /** `size` random bytes. */
  bytes: (size: number) => Uint8Array
  /** The items in a random order (a copy). */
  shuffle: <T>(items: readonly T[]) => T[]
  /** A new independent source derived from this one. */
  fork: () => SeededRandom
}

/** mulberry32: the next 32-bit unsigned integer of the sequence `seed` starts. */
export function mulberry32 (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

export function seededRandom (seed: number): SeededRandom {
  const u32 = mulberry32(seed)
  const next = (): number => u32() / 2 ** 32
  const below = (n: number): number => Math.floor(next() * n)
  return {
    next,
    below,
    between: (lo, hi) => lo + below(hi - lo + 1),
    bytes: (size) => {
      const out = new Uint8Array(size)
      for (let i = 0; i < size; i += 4) {
        const v = u32()
        for (let j = 0; j < 4 && i + j < size; j++) out[i + j] = (v >>> (8 * j)) & 0xff
      }
      return out
    },
    shuffle: (items) => {
      const a = [...items]
      for (let i = a.length - 1; i > 0; i--) {
        const j = below(i + 1)
        ;[a[i], a[j]] = [a[j], a[i]]
      }
      return a
    },
    fork: () => seededRandom(u32())
  }
}
