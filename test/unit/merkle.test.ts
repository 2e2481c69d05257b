import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { SEGMENT_SIZE, leafCount, maxPathLength, merkleProof, merkleProofs, merkleRoot, verifyMerkleProof } from '../../src/audit/index.js'
import type { MerkleProof } from '../../src/audit/index.js'
import { skipBecause } from '../skip-because.js'

function sha256 (...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

const leaf = (segment: Uint8Array): Buffer => sha256(Uint8Array.of(0), segment)
const inner = (l: Uint8Array, r: Uint8Array): Buffer => sha256(Uint8Array.of(1), l, r)

/** Straightforward reference: hash the segments, then pair neighbours level by level, promoting an odd last node. */
function referenceRoot (data: Uint8Array, segmentSize = SEGMENT_SIZE): Buffer {
  let level: Buffer[] = []
  for (let off = 0; off < data.length; off += segmentSize) level.push(leaf(data.subarray(off, off + segmentSize)))
  if (level.length === 0) level.push(leaf(new Uint8Array(0)))
  while (level.length > 1) {
    const next: Buffer[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(inner(level[i], level[i + 1]))
    if (level.length % 2 === 1) next.push(level[level.length - 1])
    level = next
  }
  return level[0]
}

function bytes (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; out[i] = x >>> 24 }
  return out
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function flipped (b: Uint8Array, i: number): Uint8Array {
  const c = new Uint8Array(b)
  c[i] ^= 0x01
  return c
}

describe('audit: merkle trees', () => {
  it('counts leaves as ceil(length / segmentSize), one for empty data', () => {
    assert.equal(SEGMENT_SIZE, 1024)
    assert.equal(leafCount(0), 1)
    assert.equal(leafCount(1), 1)
    assert.equal(leafCount(1024), 1)
    assert.equal(leafCount(1025), 2)
    assert.equal(leafCount(13 * 1024), 13)
    assert.equal(leafCount(100, 16), 7)
    assert.throws(() => leafCount(-1), RangeError)
    assert.throws(() => leafCount(10, 0), (err: Error) => err.name === 'ConfigError')
  })

  it('builds the documented tree: prefixed leaves and inner nodes, odd node promoted', () => {
    const data = bytes(2 * 1024 + 10)
    const [a, b, c] = [data.subarray(0, 1024), data.subarray(1024, 2048), data.subarray(2048)]
    assert.equal(hex(merkleRoot(data)), hex(inner(inner(leaf(a), leaf(b)), leaf(c))))
    assert.equal(hex(merkleRoot(data.subarray(0, 500))), hex(leaf(data.subarray(0, 500))))
    // Empty data: the root is the hash of the one empty leaf, SHA-256(0x00).
    assert.equal(hex(merkleRoot(new Uint8Array(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d')
  })

  it('agrees with a reference implementation for many sizes', () => {
    for (const length of [0, 1, 1023, 1024, 1025, 2048, 3000, 4096, 5 * 1024 + 1, 7 * 1024, 13 * 1024 - 1, 33 * 1024, 100_000]) {
      const data = bytes(length, length + 1)
      assert.equal(hex(merkleRoot(data)), hex(referenceRoot(data)), `length ${length}`)
    }
    for (const segmentSize of [1, 3, 32, 64]) {
      const data = bytes(777, segmentSize)
      assert.equal(hex(merkleRoot(data, segmentSize)), hex(referenceRoot(data, segmentSize)), `segment ${segmentSize}`)
    }
  })

  it('returns a root that does not alias internal buffers', () => {
    const r = merkleRoot(bytes(4096))
    assert.equal(r.length, 32)
    assert.equal(r.byteOffset, 0)
    assert.equal(r.buffer.byteLength, 32)
  })

  for (const leaves of [1, 2, 3, 5, 8, 13]) {
    // Full segments, and a short last segment.
    for (const length of [leaves * 1024, leaves * 1024 - 300]) {
      it(`verifies the proof of every segment: ${leaves} leaves, ${length} bytes`, () => {
        const data = bytes(length, leaves)
        const root = merkleRoot(data)
        const n = leafCount(length)
        assert.equal(n, leaves)
        for (let i = 0; i < n; i++) {
          const proof = merkleProof(data, i)
          assert.equal(proof.index, i)
          assert.deepEqual(proof.segment, data.subarray(i * 1024, Math.min((i + 1) * 1024, length)))
          assert.ok(verifyMerkleProof(root, n, proof), `index ${i}`)
          assert.ok(proof.path.length <= Math.ceil(Math.log2(n)))
        }
      })
    }
  }

  it('gives the same proofs from one tree (merkleProofs) as one by one (merkleProof)', () => {
    for (const [length, segmentSize] of [[0, 1024], [1, 1024], [1024, 1024], [13 * 1024 - 300, 1024], [64 * 1024, 1024], [777, 16], [4097, 64]]) {
      const data = bytes(length, length + 7)
      const n = leafCount(length, segmentSize)
      const all = Array.from({ length: n }, (_, i) => i)
      const indices = [...all.filter(i => i % 3 !== 1).reverse(), 0, n - 1] // any order, repeats allowed
      const proofs = merkleProofs(data, indices, segmentSize)
      assert.equal(proofs.length, indices.length)
      proofs.forEach((p, j) => assert.deepEqual(p, merkleProof(data, indices[j], segmentSize), `length ${length}, index ${indices[j]}`))
      const longest = Math.max(...merkleProofs(data, all, segmentSize).map(p => p.path.length))
      assert.equal(longest, maxPathLength(n), `length ${length}`)
    }
    assert.deepEqual(merkleProofs(bytes(2048), []), [])
    assert.throws(() => merkleProofs(bytes(2048), [0, 2]), RangeError)
    assert.throws(() => merkleProofs(bytes(2048), [-1]), RangeError)
    assert.throws(() => merkleProofs(bytes(2048), [0.5]), RangeError)
    assert.deepEqual([1, 2, 3, 4, 5, 4096, 4097].map(maxPathLength), [0, 1, 2, 2, 3, 12, 13])
  })

  it('verifies the proof for empty data and for a small segment size', () => {
    const empty = new Uint8Array(0)
    assert.ok(verifyMerkleProof(merkleRoot(empty), 1, merkleProof(empty, 0)))
    const data = bytes(100)
    const root = merkleRoot(data, 16)
    for (let i = 0; i < 7; i++) assert.ok(verifyMerkleProof(root, 7, merkleProof(data, i, 16), 16))
    assert.ok(!verifyMerkleProof(root, 7, merkleProof(data, 0, 16)), 'segment size must match')
  })

  describe('rejects tampered proofs', () => {
    const n = 13
    const data = bytes(n * 1024 - 100, 99)
    const root = merkleRoot(data)
    const proofs = Array.from({ length: n }, (_, i) => merkleProof(data, i))

    it('a wrong index', () => {
      for (const p of proofs) {
        for (const index of [p.index - 1, p.index + 1, p.index ^ 2]) {
          if (index < 0 || index >= n) continue
          assert.ok(!verifyMerkleProof(root, n, { ...p, index }), `${p.index} as ${index}`)
        }
      }
    })

    it('an index at or beyond leafCount, or not an integer', () => {
      const p = proofs[n - 1]
      assert.ok(!verifyMerkleProof(root, n, { ...p, index: n }))
      assert.ok(!verifyMerkleProof(root, n, { ...p, index: n + 1 }))
      assert.ok(!verifyMerkleProof(root, n, { ...p, index: -1 }))
      assert.ok(!verifyMerkleProof(root, n, { ...proofs[0], index: 0.5 }))
      assert.ok(!verifyMerkleProof(root, n, { ...proofs[0], index: Number.NaN }))
      assert.throws(() => merkleProof(data, n), RangeError)
      assert.throws(() => merkleProof(data, -1), RangeError)
    })

    it('a modified segment', () => {
      for (const p of proofs) {
        for (const i of [0, p.segment.length >> 1, p.segment.length - 1]) {
          assert.ok(!verifyMerkleProof(root, n, { ...p, segment: flipped(p.segment, i) }))
        }
        assert.ok(!verifyMerkleProof(root, n, { ...p, segment: p.segment.subarray(1) }), 'truncated')
        const longer = new Uint8Array(p.segment.length + 1)
        longer.set(p.segment)
        assert.ok(!verifyMerkleProof(root, n, { ...p, segment: longer }), 'extended')
      }
    })

    it('a modified path element', () => {
      for (const p of proofs) {
        for (let k = 0; k < p.path.length; k++) {
          for (const bit of [0, 31]) {
            const path = p.path.slice()
            path[k] = flipped(path[k], bit)
            assert.ok(!verifyMerkleProof(root, n, { ...p, path }), `index ${p.index} element ${k}`)
          }
        }
        if (p.path.length > 1) {
          assert.ok(!verifyMerkleProof(root, n, { ...p, path: p.path.slice().reverse() }), 'reordered')
        }
      }
    })

    it('a path of the wrong length', () => {
      for (const p of proofs) {
        assert.ok(!verifyMerkleProof(root, n, { ...p, path: p.path.slice(0, -1) }), 'one short')
        assert.ok(!verifyMerkleProof(root, n, { ...p, path: [...p.path, p.path[0]] }), 'one extra')
        assert.ok(!verifyMerkleProof(root, n, { ...p, path: [] }))
      }
    })

    it('the wrong root, or a leaf count that gives the index another place in the tree', () => {
      const p = proofs[4]
      assert.ok(!verifyMerkleProof(flipped(root, 0), n, p))
      assert.ok(!verifyMerkleProof(root.subarray(0, 31), n, p))
      assert.ok(!verifyMerkleProof(root, 5, p)) // index 4 becomes the promoted last leaf
      assert.ok(!verifyMerkleProof(root, 0, p))
      const last = proofs[n - 1]
      for (const count of [n + 1, n + 3, 16, 32]) assert.ok(!verifyMerkleProof(root, count, last), `leafCount ${count}`)
      // The root does not commit to the leaf count (the verifier's own records supply it): where the
      // index's path is the same in both shapes, the proof checks out under either.
      assert.ok(verifyMerkleProof(root, n + 1, p))
    })

    it('malformed proofs, without throwing', () => {
      const p = proofs[0]
      const bad: unknown[] = [
        null,
        {},
        { ...p, path: 'x' },
        { ...p, path: [...p.path.slice(0, -1), new Uint8Array(31)] },
        { ...p, path: [...p.path.slice(0, -1), 'not bytes'] },
        { ...p, segment: 'not bytes' },
        { ...p, index: '0' }
      ]
      for (const b of bad) assert.equal(verifyMerkleProof(root, n, b as MerkleProof), false)
    })

    it('an inner node passed off as a leaf (domain separation)', () => {
      // With 2 leaves, the root is inner(L0, L1); the 64 bytes L0 || L1 must not prove as a one-leaf tree.
      const two = bytes(2048, 5)
      const twoRoot = merkleRoot(two)
      const fake = Buffer.concat([leaf(two.subarray(0, 1024)), leaf(two.subarray(1024))])
      assert.ok(!verifyMerkleProof(twoRoot, 1, { index: 0, segment: fake, path: [] }))
    })
  })

  it('changes the root when any single byte changes', () => {
    const data = bytes(2 * 1024 + 512, 3)
    const root = hex(merkleRoot(data))
    const seen = new Set([root])
    for (let i = 0; i < data.length; i++) {
      data[i] ^= 0x80
      const r = hex(merkleRoot(data))
      data[i] ^= 0x80
      assert.ok(!seen.has(r), `byte ${i}`)
      seen.add(r)
    }
    assert.equal(hex(merkleRoot(data)), root)
    // A byte appended or removed changes it too.
    assert.notEqual(hex(merkleRoot(data.subarray(0, data.length - 1))), root)
    assert.notEqual(hex(merkleRoot(Buffer.concat([data, Uint8Array.of(0)]))), root)
  })

  it('keeps its roots for fixed inputs (format guard)', () => {
    // Roots are stored per shard in the repository and checked by audits and `check`: a change in the
    // segment size, prefixes or odd-node rule would make every stored root fail. Change only with a format
    // version bump.
    const data = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff)
    assert.equal(hex(merkleRoot(data)), 'c9416dd28232f0c6baf176ca01d3c0fb0e4124f40f2ede5271285e56dc654c17')
    const small = Uint8Array.from({ length: 100 }, (_, i) => (i * 7) & 0xff)
    assert.equal(hex(merkleRoot(small, 16)), 'ebc85d228a936d4f7cb9b9235b0cb9f56731637ae109b48e0c88abc53d2f4e1d')
  })

  it('hashes 4 MiB quickly', () => {
    const data = bytes(4 * 1024 * 1024, 11)
    const t0 = performance.now()
    const root = merkleRoot(data)
    const ms = performance.now() - t0
    assert.equal(root.length, 32)
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms`)
  })
})

describe('fastMerkleRoot', () => {
  it('takes the addon only with SHA-NI (node:crypto otherwise, and with HOLDFAST_NATIVE=0), with the same roots', async () => {
    const { fastMerkleRoot, merkleBackend, nativeMerkle } = await import('../../src/audit/fast-merkle-root.js')
    const expected = process.env.HOLDFAST_NATIVE !== '0' && nativeMerkle?.backend() === 'sha-ni' ? 'sha-ni' : 'javascript'
    assert.equal(merkleBackend, expected)
    if (process.env.HOLDFAST_NATIVE === '0') assert.equal(nativeMerkle, undefined)
    for (const len of [0, 1, 1024, 5000, 1 << 20]) {
      const data = bytes(len, len + 3)
      assert.equal(hex(fastMerkleRoot(data, SEGMENT_SIZE)), hex(referenceRoot(data)), `${merkleBackend}, ${len} bytes`)
    }
  })
})

describe('native Merkle roots', function () {
  before(async function () {
    const { nativeMerkle, nativeMerkleLoadError } = await import('../../src/audit/fast-merkle-root.js')
    if (process.env.HOLDFAST_NATIVE === '0') skipBecause(this, 'HOLDFAST_NATIVE=0')
    if (nativeMerkle == null) skipBecause(this, `the addon is not built: ${String((nativeMerkleLoadError as Error)?.message ?? nativeMerkleLoadError).split('\n')[0]}`)
  })

  it('equal the reference roots for every backend, length and segment size', async () => {
    const { nativeMerkle } = await import('../../src/audit/fast-merkle-root.js')
    const { merkleRoot: reference } = await import('../../src/audit/merkle.js')
    const { randomBytes } = await import('node:crypto')
    assert.ok(nativeMerkle != null)
    const backends = ['portable', 'sha-ni'].filter(b => { try { nativeMerkle.setBackend(b); return true } catch { return false } })
    const lengths = [0, 1, 55, 56, 62, 63, 64, 65, 119, 120, 127, 128, 1023, 1024, 1025, 3000, 4096, 65537]
    try {
      for (const b of backends) {
        nativeMerkle.setBackend(b)
        for (const len of lengths) {
          for (const seg of [1, 63, 64, 1024]) {
            if (seg === 1 && len > 4096) continue
            const data = randomBytes(len)
            assert.equal(Buffer.from(nativeMerkle.merkleRoot(data, seg)).toString('hex'), Buffer.from(reference(data, seg)).toString('hex'), `${b} len=${len} seg=${seg}`)
          }
        }
      }
    } finally {
      nativeMerkle.setBackend(backends[backends.length - 1])
    }
  })

  it('rejects bad arguments without crashing', async () => {
    const { nativeMerkle } = await import('../../src/audit/fast-merkle-root.js')
    assert.throws(() => nativeMerkle!.merkleRoot(new Uint8Array(10), 0), RangeError)
    assert.throws(() => nativeMerkle!.merkleRoot('nope' as unknown as Uint8Array, 1024), TypeError)
    assert.throws(() => nativeMerkle!.setBackend('no-such-backend'))
  })
})
