import assert from 'node:assert/strict'
import {
  answerChallenge, createChallenge, detectionProbability, lostSegments, merkleProofs, merkleRoot, segmentsNeeded,
  verifyAnswer
} from '../../src/audit/index.js'
import type { ChallengeAnswer, Challenge } from '../../src/audit/index.js'
import { seededRandom } from './seeded-random.js'

function throwsNamed (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

const close = (a: number, b: number, eps = 1e-12): void => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`)

describe('audit/detection', () => {
  describe('the formulas', () => {
    it('agree with hand-computed values', () => {
      // With replacement: 1 - (1 - f)^s.
      close(detectionProbability(0.5, 1), 0.5)
      close(detectionProbability(0.5, 2), 0.75)
      close(detectionProbability(0.1, 3), 1 - 0.729)
      close(detectionProbability(0.3, 0), 0)
      close(detectionProbability(1, 1), 1)
      // Without: 10 segments, 2 lost, 2 asked: miss = (8/10)(7/9) = 56/90.
      close(detectionProbability(0.2, 2, 10), 1 - 56 / 90)
      close(detectionProbability(0.1, 1, 10), 0.1)
      // 9 of 10 asked with 2 lost: at least one lost is always among them.
      close(detectionProbability(0.2, 9, 10), 1)
      close(detectionProbability(0.2, 8, 10), 1 - 1 / 45)
      close(detectionProbability(0.2, 50, 10), 1) // more than the shard has: all of it
      // ln(0.01) / ln(0.5) = 6.64 -> 7; exact integer quotients do not round up: ln(0.25) / ln(0.5) = 2.
      assert.equal(segmentsNeeded(0.5, 0.99), 7)
      assert.equal(segmentsNeeded(0.5, 0.75), 2)
      assert.equal(segmentsNeeded(0.9, 0.99), 2)
      assert.equal(segmentsNeeded(1, 0.99), 1)
      assert.equal(segmentsNeeded(0.3, 0), 0)
      assert.equal(segmentsNeeded(0.2, 0.99, 10), 9) // 8 leave a 1/45 chance
      assert.equal(segmentsNeeded(0.2, 0.97, 10), 8)
      assert.equal(segmentsNeeded(0.5, 0.5, 1), 1)
      // A lost byte spoils its whole segment: a fraction f of the bytes is at least ceil(f L) segments.
      assert.deepEqual([lostSegments(0.01, 4096), lostSegments(0.07, 100), lostSegments(0.001, 100), lostSegments(0, 100), lostSegments(1, 7)], [41, 7, 1, 0, 7])
    })

    it('give the documented table (p = 99%, 4 MiB shard of 1 KiB segments)', () => {
      const rows = [0.01, 0.05, 0.10, 0.25, 0.50].map(f => [f, lostSegments(f, 4096), segmentsNeeded(f, 0.99), segmentsNeeded(f, 0.99, 4096)])
      assert.deepEqual(rows, [
        [0.01, 41, 459, 434],
        [0.05, 205, 90, 89],
        [0.10, 410, 44, 44],
        [0.25, 1024, 17, 16],
        [0.50, 2048, 7, 7]
      ])
    })

    it('return the fewest segments that reach p, and the bound is never below the exact count', () => {
      for (const f of [0.001, 0.01, 0.03, 0.1, 0.2, 0.33, 0.5, 0.8, 1]) {
        for (const p of [0.5, 0.9, 0.99, 0.999]) {
          const s = segmentsNeeded(f, p)
          assert.ok(detectionProbability(f, s) >= p && (s === 0 || detectionProbability(f, s - 1) < p), `f ${f} p ${p}`)
          for (const leaves of [1, 7, 64, 256, 4096]) {
            const exact = segmentsNeeded(f, p, leaves)
            assert.ok(detectionProbability(f, exact, leaves) >= p && detectionProbability(f, exact - 1, leaves) < p, `f ${f} p ${p} L ${leaves}`)
            assert.ok(exact <= s, `exact ${exact} > bound ${s} for f ${f} p ${p} L ${leaves}`)
            assert.ok(exact <= leaves - lostSegments(f, leaves) + 1)
            // Sampling without replacement never does worse than with it.
            assert.ok(detectionProbability(f, s, leaves) >= detectionProbability(f, s) - 1e-12)
          }
        }
      }
    })

    it('refuse values out of range', () => {
      for (const f of [0, -0.1, 1.1, Number.NaN]) throwsNamed(() => segmentsNeeded(f, 0.99), 'ConfigError')
      for (const p of [1, -0.1, Number.NaN]) throwsNamed(() => segmentsNeeded(0.1, p), 'ConfigError')
      throwsNamed(() => segmentsNeeded(0.1, 0.9, 0), 'ConfigError')
      throwsNamed(() => detectionProbability(0.1, -1), 'ConfigError')
      throwsNamed(() => detectionProbability(0.1, 1.5), 'ConfigError')
      throwsNamed(() => detectionProbability(2, 1), 'ConfigError')
      throwsNamed(() => lostSegments(0.1, 2.5), 'ConfigError')
    })
  })

  describe('simulated audits of hosts that lost part of a shard', () => {
    // A 256 KiB shard of 1 KiB segments (256 leaves), real challenges, answers and Merkle proofs.
    const SEGMENT = 1024
    const LEAVES = 256
    const random = seededRandom(2024)
    const shard = random.bytes(LEAVES * SEGMENT)
    const expected = { root: merkleRoot(shard, SEGMENT), shardSize: shard.length, segmentSize: SEGMENT }
    // The host kept the whole tree (every node hash, the best a cheater can do) and the segments not lost; for a
    // lost one it sends zeros with the true path.
    const tree = merkleProofs(shard, Array.from({ length: LEAVES }, (_, i) => i), SEGMENT)
    const zeros = new Uint8Array(SEGMENT)
    const lossyHost = (lost: Set<number>, challenge: Challenge): ChallengeAnswer => ({
      nonce: challenge.nonce,
      proofs: challenge.indices.map(i => lost.has(i) ? { ...tree[i], segment: zeros } : tree[i])
    })

    it('an honest host always passes', () => {
      for (let t = 0; t < 20; t++) {
        const c = createChallenge({ shardSize: shard.length, segmentSize: SEGMENT, count: 20, random: random.bytes })
        assert.ok(verifyAnswer(expected, c, answerChallenge(shard, SEGMENT, c)).ok)
        assert.ok(verifyAnswer(expected, c, lossyHost(new Set(), c)).ok)
      }
    })

    // Each case runs `trials` audits of segmentsNeeded(f, 0.99) segments (the bound, which holds for any
    // shard size), each against a fresh random set of lost segments. Checks, per case and for the three
    // cases together: the miss rate is at most 1% + 2 standard deviations of a 1% rate over the trials;
    // per case, it is also within 5 standard deviations of the exact (hypergeometric) miss probability.
    // Power (exact binomial tails): if the true miss rate were 2% (the math off by a factor of two), the
    // pooled check would pass with probability 2e-11 (per case: 4e-8, 1e-2, 0.27); at 1.5%, 3e-3. With the
    // rates the math predicts on 256 segments (0.72%, 0.62%, 0.56% missed), a check fails with probability
    // below 1e-3 per case. Verifying the proofs is most of the time (about 3.5 s here, some 130,000 proofs);
    // the seed is fixed, so every run is the same.
    it('catches a host that lost 50%, 25% or 10% of the segments at least 99% of the time', () => {
      const cases = [{ f: 0.5, trials: 8000 }, { f: 0.25, trials: 2500 }, { f: 0.1, trials: 800 }]
      const withinBound = (misses: number, trials: number): boolean => misses / trials <= 0.01 + 2 * Math.sqrt(0.01 * 0.99 / trials)
      let allMisses = 0
      let allTrials = 0
      for (const { f, trials } of cases) {
        const s = segmentsNeeded(f, 0.99)
        const lostCount = lostSegments(f, LEAVES)
        let misses = 0
        for (let t = 0; t < trials; t++) {
          const lost = random.subset(LEAVES, lostCount)
          const c = createChallenge({ shardSize: shard.length, segmentSize: SEGMENT, count: s, random: random.bytes })
          const verdict = verifyAnswer(expected, c, lossyHost(lost, c))
          assert.deepEqual(verdict.failed, c.indices.filter(i => lost.has(i)), 'exactly the lost segments asked fail')
          if (verdict.ok) misses++
        }
        const exactMiss = 1 - detectionProbability(f, s, LEAVES)
        const what = `f ${f}, s ${s}: missed ${misses} of ${trials}, ${(exactMiss * trials).toFixed(1)} expected`
        assert.ok(withinBound(misses, trials), what)
        assert.ok(Math.abs(misses / trials - exactMiss) <= 5 * Math.sqrt(exactMiss * (1 - exactMiss) / trials), what)
        allMisses += misses
        allTrials += trials
      }
      assert.ok(withinBound(allMisses, allTrials), `missed ${allMisses} of ${allTrials}`)
    })
  })
})
