import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { encode } from 'cborg'
import {
  MAX_CHALLENGE_SEGMENTS, NONCE_SIZE, answerChallenge, challengeIndices, createChallenge, leafCount, merkleProof,
  merkleProofs, merkleRoot, proofPayloadBytes, verifyAnswer
} from '../../src/audit/index.js'
import type { Challenge, ChallengeAnswer, ExpectedShard, MerkleProof } from '../../src/audit/index.js'
import { seededRandom } from './seeded-random.js'

const KiB = 1024

function bytes (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

function throwsNamed (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** A shard of 64 KiB + 300 bytes (65 segments, the last one short) and what its owner keeps. */
const SEGMENT = KiB
const shard = bytes(64 * KiB + 300, 42)
const expected: ExpectedShard = { root: merkleRoot(shard, SEGMENT), shardSize: shard.length, segmentSize: SEGMENT }
const LEAVES = leafCount(shard.length, SEGMENT)
const challengeOf = (count: number, random?: (n: number) => Uint8Array): Challenge =>
  createChallenge({ shardSize: shard.length, segmentSize: SEGMENT, count, ...(random !== undefined ? { random } : {}) })

describe('audit/challenge', () => {
  describe('createChallenge', () => {
    it('asks for count distinct segments, ascending, with a 32-byte nonce', () => {
      for (const count of [1, 2, 10, 64]) {
        const c = challengeOf(count)
        assert.equal(c.nonce.length, NONCE_SIZE)
        assert.equal(c.indices.length, count)
        for (let i = 0; i < count; i++) {
          assert.ok(Number.isInteger(c.indices[i]) && c.indices[i] >= 0 && c.indices[i] < LEAVES)
          if (i > 0) assert.ok(c.indices[i] > c.indices[i - 1], 'ascending and distinct')
        }
      }
    })

    it('asks for every segment of a shard that has no more than count', () => {
      assert.deepEqual(challengeOf(MAX_CHALLENGE_SEGMENTS).indices, Array.from({ length: LEAVES }, (_, i) => i))
      assert.deepEqual(createChallenge({ shardSize: 0, segmentSize: SEGMENT, count: 5 }).indices, [0])
      assert.deepEqual(createChallenge({ shardSize: 3000, segmentSize: SEGMENT, count: 3 }).indices, [0, 1, 2])
    })

    it('derives the indices from the nonce, so the owner can recompute them', () => {
      const random = seededRandom(7)
      const c = challengeOf(20, random.bytes)
      assert.deepEqual(challengeIndices(c.nonce, LEAVES, 20), c.indices)
      // The same random source gives the same challenge; another nonce gives other indices.
      assert.deepEqual(challengeOf(20, seededRandom(7).bytes), c)
      assert.notDeepEqual(challengeOf(20).indices, c.indices)
    })

    it('keeps the index derivation fixed (a stored nonce must give the same indices later)', () => {
      const nonce = Uint8Array.from({ length: 32 }, (_, i) => i)
      assert.deepEqual(challengeIndices(nonce, 4096, 8), [289, 1193, 2264, 2398, 2599, 2754, 3576, 3957])
      assert.deepEqual(challengeIndices(nonce, 5, 5), [0, 1, 2, 3, 4])
      assert.deepEqual(challengeIndices(nonce, 1, 0), [])
    })

    it('chooses every subset equally often', () => {
      // 5 segments, 2 asked: 10 subsets, 20,000 challenges, 2,000 expected each (sd 42).
      const counts = new Map<string, number>()
      const random = seededRandom(11)
      for (let t = 0; t < 20_000; t++) {
        const key = challengeIndices(random.bytes(32), 5, 2).join(',')
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      assert.equal(counts.size, 10)
      for (const [key, n] of counts) assert.ok(Math.abs(n - 2000) < 5 * 42, `${key}: ${n}`)
      // 4096 segments, 64 asked: each segment about equally often (2,000 x 64 / 4096 = 31.25 per segment on average).
      const perSegment = new Uint32Array(4096)
      for (let t = 0; t < 2000; t++) for (const i of challengeIndices(random.bytes(32), 4096, 64)) perSegment[i]++
      const halves = [0, 0]
      perSegment.forEach((n, i) => { halves[i < 2048 ? 0 : 1] += n })
      assert.ok(Math.abs(halves[0] - halves[1]) < 5 * Math.sqrt(2000 * 64), `${halves.join(' vs ')}`)
    })

    it('refuses bad counts and sizes', () => {
      for (const count of [0, -1, 1.5, Number.NaN, MAX_CHALLENGE_SEGMENTS + 1]) throwsNamed(() => challengeOf(count), 'ConfigError')
      throwsNamed(() => createChallenge({ shardSize: -1, segmentSize: SEGMENT, count: 1 }), 'ConfigError')
      throwsNamed(() => createChallenge({ shardSize: 100, segmentSize: 0, count: 1 }), 'ConfigError')
      throwsNamed(() => challengeOf(1, () => new Uint8Array(16)), 'ConfigError')
      throwsNamed(() => challengeIndices(new Uint8Array(32), 4, 5), 'ConfigError')
      throwsNamed(() => challengeIndices(new Uint8Array(31), 4, 1), 'ConfigError')
    })
  })

  describe('answerChallenge and verifyAnswer', () => {
    it('an honest host passes, for any challenge', () => {
      for (let t = 0; t < 20; t++) {
        const c = challengeOf(1 + (t * 7) % 40)
        const answer = answerChallenge(shard, SEGMENT, c)
        assert.deepEqual(answer.nonce, c.nonce)
        assert.deepEqual(answer.proofs, c.indices.map(i => merkleProof(shard, i, SEGMENT)))
        assert.deepEqual(verifyAnswer(expected, c, answer), { ok: true, failed: [] })
      }
      // The short last segment, every segment, the root in hex, an empty shard.
      const all = challengeOf(LEAVES)
      assert.equal(all.indices.at(-1), LEAVES - 1)
      assert.ok(verifyAnswer({ ...expected, root: hex(merkleRoot(shard)) }, all, answerChallenge(shard, SEGMENT, all)).ok)
      const empty = new Uint8Array(0)
      const c = createChallenge({ shardSize: 0, segmentSize: SEGMENT, count: 1 })
      assert.ok(verifyAnswer({ root: merkleRoot(empty), shardSize: 0, segmentSize: SEGMENT }, c, answerChallenge(empty, SEGMENT, c)).ok)
    })

    it('the host refuses a malformed challenge (it comes from a peer)', () => {
      const nonce = randomBytes(32)
      const bad: unknown[] = [
        null,
        { nonce: nonce.subarray(1), indices: [0] },
        { nonce: 'x', indices: [0] },
        { nonce, indices: [] },
        { nonce, indices: 'x' },
        { nonce, indices: [3, 2] },
        { nonce, indices: [2, 2] },
        { nonce, indices: [LEAVES] },
        { nonce, indices: [-1] },
        { nonce, indices: [0.5] },
        { nonce, indices: Array.from({ length: MAX_CHALLENGE_SEGMENTS + 1 }, (_, i) => i) }
      ]
      for (const c of bad) throwsNamed(() => answerChallenge(shard, SEGMENT, c as Challenge), 'ProtocolError')
    })

    describe('rejects', () => {
      const c = challengeOf(8, seededRandom(3).bytes)
      const good = answerChallenge(shard, SEGMENT, c)
      const withProofs = (proofs: MerkleProof[]): ChallengeAnswer => ({ nonce: good.nonce, proofs })

      it('an answer with another nonce (a replayed answer), failing every index', () => {
        const nonce = new Uint8Array(good.nonce)
        nonce[0] ^= 1
        const v = verifyAnswer(expected, c, { ...good, nonce })
        assert.deepEqual([v.ok, v.failed], [false, c.indices])
        assert.match(v.reason ?? '', /nonce/)
      })

      it('missing, extra, duplicated and reordered proofs', () => {
        const [i0, i1] = c.indices
        const last = c.indices[7]
        let v = verifyAnswer(expected, c, withProofs(good.proofs.slice(0, 7)))
        assert.deepEqual([v.ok, v.failed], [false, [last]])
        assert.match(v.reason ?? '', /missing/)
        v = verifyAnswer(expected, c, withProofs([]))
        assert.deepEqual(v.failed, c.indices)
        v = verifyAnswer(expected, c, withProofs([...good.proofs, good.proofs[0]]))
        assert.deepEqual([v.ok, v.failed], [false, []])
        assert.match(v.reason ?? '', /more than asked/)
        v = verifyAnswer(expected, c, withProofs([good.proofs[0], ...good.proofs.slice(0, 7)]))
        assert.equal(v.ok, false)
        assert.deepEqual(v.failed, c.indices.slice(1), 'duplicated first proof: every later position is off')
        v = verifyAnswer(expected, c, withProofs([good.proofs[1], good.proofs[0], ...good.proofs.slice(2)]))
        assert.deepEqual([v.ok, v.failed], [false, [i0, i1]])
        // A proof that claims the asked index but carries another segment's bytes and path.
        v = verifyAnswer(expected, c, withProofs([{ ...good.proofs[1], index: i0 }, ...good.proofs.slice(1)]))
        assert.deepEqual([v.ok, v.failed], [false, [i0]])
      })

      it('segments of the wrong length', () => {
        const p = good.proofs[2]
        const longer = new Uint8Array(p.segment.length + 1)
        longer.set(p.segment)
        for (const segment of [p.segment.subarray(1), longer, new Uint8Array(0)]) {
          const proofs = good.proofs.slice()
          proofs[2] = { ...p, segment }
          const v = verifyAnswer(expected, c, withProofs(proofs))
          assert.deepEqual([v.ok, v.failed], [false, [p.index]])
          assert.match(v.reason ?? '', /length/)
        }
        // The short last segment padded to a whole one.
        const all = challengeOf(LEAVES)
        const answer = answerChallenge(shard, SEGMENT, all)
        const padded = new Uint8Array(SEGMENT)
        padded.set(answer.proofs[LEAVES - 1].segment)
        answer.proofs[LEAVES - 1] = { ...answer.proofs[LEAVES - 1], segment: padded }
        assert.deepEqual(verifyAnswer(expected, all, answer).failed, [LEAVES - 1])
      })

      it('bad paths', () => {
        for (let j = 0; j < good.proofs.length; j++) {
          const p = good.proofs[j]
          const tampered: Array<Uint8Array[]> = [p.path.slice(0, -1), [...p.path, p.path[0]], p.path.slice().reverse()]
          const flipped = p.path.map(x => new Uint8Array(x))
          flipped[0][5] ^= 0x10
          tampered.push(flipped)
          for (const path of tampered) {
            const proofs = good.proofs.slice()
            proofs[j] = { ...p, path }
            assert.deepEqual(verifyAnswer(expected, c, withProofs(proofs)).failed, [p.index])
          }
        }
      })

      it('malformed answers, without throwing', () => {
        const bad: unknown[] = [
          null, 'answer', {}, { nonce: 'x', proofs: good.proofs }, { nonce: good.nonce }, { nonce: good.nonce, proofs: 'x' },
          withProofs([null, ...good.proofs.slice(1)] as MerkleProof[]),
          withProofs([{ ...good.proofs[0], segment: 'x' }, ...good.proofs.slice(1)] as MerkleProof[]),
          withProofs([{ ...good.proofs[0], index: String(good.proofs[0].index) }, ...good.proofs.slice(1)] as unknown as MerkleProof[])
        ]
        for (const answer of bad) {
          const v = verifyAnswer(expected, c, answer as ChallengeAnswer)
          assert.equal(v.ok, false)
          assert.ok(v.failed.length >= 1)
          assert.equal(typeof v.reason, 'string')
        }
      })

      it('(the caller\'s mistakes throw) a bad root, or a challenge that is not one createChallenge made for this shard', () => {
        throwsNamed(() => verifyAnswer({ ...expected, root: 'abc' }, c, good), 'ConfigError')
        throwsNamed(() => verifyAnswer({ ...expected, root: new Uint8Array(31) }, c, good), 'ConfigError')
        const shifted = { ...c, indices: c.indices.map(i => (i + 1) % LEAVES).sort((a, b) => a - b) }
        throwsNamed(() => verifyAnswer(expected, shifted, good), 'ConfigError')
        throwsNamed(() => verifyAnswer(expected, { ...c, indices: [] }, good), 'ConfigError')
        throwsNamed(() => verifyAnswer({ ...expected, shardSize: 10 * KiB }, c, good), 'ConfigError')
      })
    })

    it('keeps one segment\'s answer under 2 KiB for a 4 MiB shard of 1 KiB segments', () => {
      const big = randomBytes(4 * 1024 * KiB)
      assert.equal(leafCount(big.length, SEGMENT), 4096)
      assert.equal(proofPayloadBytes(big.length, SEGMENT), 1024 + 12 * 32)
      const one = createChallenge({ shardSize: big.length, segmentSize: SEGMENT, count: 1 })
      const answer = answerChallenge(big, SEGMENT, one)
      const encoded = encode({ nonce: answer.nonce, proofs: answer.proofs })
      assert.ok(encoded.length < 1.5 * KiB, `${encoded.length} bytes`)
      assert.ok(encoded.length >= 1024 + 12 * 32 + 32)
      // The largest challenge: one tree for all of them, each proof still about 1.4 KiB.
      const t0 = performance.now()
      const most = createChallenge({ shardSize: big.length, segmentSize: SEGMENT, count: MAX_CHALLENGE_SEGMENTS })
      const full = answerChallenge(big, SEGMENT, most)
      const ms = performance.now() - t0
      const size = encode(full).length
      assert.ok(size < MAX_CHALLENGE_SEGMENTS * 1.45 * KiB, `${size} bytes`)
      assert.ok(ms < 2000, `${ms.toFixed(0)} ms`)
      assert.ok(verifyAnswer({ root: merkleRoot(big), shardSize: big.length, segmentSize: SEGMENT }, most, full).ok)
    })
  })

  describe('adversarial hosts', () => {
    const seg = (i: number): Uint8Array => shard.subarray(i * SEGMENT, Math.min((i + 1) * SEGMENT, shard.length))
    /** Everything of the shard's tree a host could keep without the data: the proofs' paths and the leaf hashes. */
    const tree = merkleProofs(shard, Array.from({ length: LEAVES }, (_, i) => i), SEGMENT)
    const leafHash = (segment: Uint8Array): Uint8Array => createHash('sha256').update(Uint8Array.of(0)).update(segment).digest()

    it('a host that kept the Merkle tree but not the data fails every index', () => {
      const random = seededRandom(21)
      for (let t = 0; t < 20; t++) {
        const c = challengeOf(1 + random.below(30))
        // It knows every node hash, so it can send the true paths; the segment it has to make up.
        const makeUp = [
          (i: number) => new Uint8Array(seg(i).length),
          (i: number) => leafHash(seg(i)), // the leaf's hash instead of its data
          (i: number) => { const s = new Uint8Array(seg(i).length); s.set(leafHash(seg(i))); return s }
        ]
        for (const fake of makeUp) {
          const answer = { nonce: c.nonce, proofs: c.indices.map(i => ({ ...tree[i], segment: fake(i) })) }
          assert.deepEqual(verifyAnswer(expected, c, answer).failed, c.indices)
        }
      }
    })

    it('a host that guesses segments (random bytes of the right length) fails every index', () => {
      const random = seededRandom(22)
      for (let t = 0; t < 20; t++) {
        const c = challengeOf(10)
        const answer = { nonce: c.nonce, proofs: c.indices.map(i => ({ ...tree[i], segment: random.bytes(seg(i).length) })) }
        assert.deepEqual(verifyAnswer(expected, c, answer).failed, c.indices)
      }
    })

    it('a host replaying an earlier correct answer fails the new challenge', () => {
      const random = seededRandom(23)
      for (let t = 0; t < 20; t++) {
        const before = challengeOf(10, random.bytes)
        const old = answerChallenge(shard, SEGMENT, before)
        assert.ok(verifyAnswer(expected, before, old).ok)
        const now = challengeOf(10, random.bytes)
        // As it was: the nonce is the old one.
        const replayed = verifyAnswer(expected, now, old)
        assert.deepEqual([replayed.ok, replayed.failed], [false, now.indices])
        // With the new nonce copied in: every index that differs from the old challenge's fails.
        const relabelled = verifyAnswer(expected, now, { ...old, nonce: now.nonce })
        assert.equal(relabelled.ok, false)
        assert.deepEqual(relabelled.failed, now.indices.filter((index, i) => before.indices[i] !== index))
      }
    })

    it('a host that flipped one byte of segment i fails exactly when i is challenged', () => {
      const random = seededRandom(24)
      for (const i of [0, 17, LEAVES - 1]) {
        const damaged = new Uint8Array(shard)
        damaged[i * SEGMENT + random.below(seg(i).length)] ^= 0x04
        let asked = 0
        for (let t = 0; t < 40; t++) {
          const c = challengeOf(10, random.bytes)
          // A host that kept the tree from when it stored the shard, and reads the segments from disk.
          const fromDisk = { nonce: c.nonce, proofs: c.indices.map(j => ({ ...tree[j], segment: damaged.subarray(j * SEGMENT, Math.min((j + 1) * SEGMENT, damaged.length)) })) }
          const v = verifyAnswer(expected, c, fromDisk)
          assert.equal(v.ok, !c.indices.includes(i))
          assert.deepEqual(v.failed, c.indices.includes(i) ? [i] : [])
          if (c.indices.includes(i)) asked++
          // A host that builds the tree from what it holds (answerChallenge) fails whatever is asked: every
          // path has a node above segment i.
          assert.deepEqual(verifyAnswer(expected, c, answerChallenge(damaged, SEGMENT, c)).failed, c.indices)
        }
        assert.ok(asked > 0 && asked < 40, `segment ${i} asked ${asked} times of 40`)
      }
    })

    it('an answer from another shard fails every index', () => {
      const other = bytes(shard.length, 43) // same size: another shard of the same pack
      const shorter = bytes(40 * KiB, 44)
      for (let t = 0; t < 10; t++) {
        const c = challengeOf(12)
        assert.deepEqual(verifyAnswer(expected, c, answerChallenge(other, SEGMENT, c)).failed, c.indices)
        const inRange = { nonce: c.nonce, indices: c.indices.filter(i => i < 40) }
        if (inRange.indices.length === 0) continue
        const v = verifyAnswer(expected, c, answerChallenge(shorter, SEGMENT, inRange))
        assert.deepEqual(v.failed, c.indices)
      }
    })
  })
})
