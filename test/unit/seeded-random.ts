import { mulberry32 } from '../../src/sim/seeded-random.js'

/**
 * A seeded pseudo-random source for tests that simulate many trials (mulberry32: 32-bit state, fast,
 * good enough for sampling; not for keys). The same seed gives the same run.
 */
export interface SeededRandom {
  /** A float in [0, 1). */
  next: () => number
  /** An integer in [0, n). */
  below: (n: number) => number
  /** `size` random bytes (for createChallenge's `random`). */
  bytes: (size: number) => Uint8Array
  /** `count` distinct integers of [0, n), uniformly chosen. */
  subset: (n: number, count: number) => Set<number>
}

export function seededRandom (seed: number): SeededRandom {
  const u32 = mulberry32(seed)
  const next = (): number => u32() / 2 ** 32
  const below = (n: number): number => Math.floor(next() * n)
  return {
    next,
    below,
    bytes: (size) => {
      const out = new Uint8Array(size)
      for (let i = 0; i < size; i++) out[i] = u32() & 0xff
      return out
    },
    subset: (n, count) => {
      const picked = new Set<number>()
      // Floyd's algorithm: count draws, each set equally likely.
      for (let j = n - count; j < n; j++) {
        const t = below(j + 1)
        picked.add(picked.has(t) ? j : t)
      }
      return picked
    }
  }
}
