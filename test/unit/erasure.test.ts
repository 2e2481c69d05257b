import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { CAUCHY_CODEC_NAME, CauchyCodec, createCodec, kernelName } from '../../src/erasure/index.js'
import { native, nativeDisabled, nativeLoadError } from '../../src/erasure/gf-kernel.js'
import { skipBecause } from '../skip-because.js'
import { cauchyMatrix, div, EXP, inv, invertMatrix, LOG, mul, mulAddJs, multiplyMatrices } from '../../src/erasure/gf256.js'

/** A small deterministic PRNG (xorshift32), so failures reproduce. */
function rng (seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x
  }
}

/** Deterministic bytes that differ per position and per seed, so misplaced shards show up. */
function pattern (length: number, seed = 1): Uint8Array {
  const next = rng(seed)
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = next() >>> 24
  return out
}

/** Every subset of {0..n-1} with exactly `size` members (or at least `size` when `atLeast`), as bit sets. */
function subsets (n: number, size: number, atLeast = false): number[] {
  const out: number[] = []
  for (let set = 0; set < 1 << n; set++) {
    const count = popcount(set)
    if (atLeast ? count >= size : count === size) out.push(set)
  }
  return out
}

function popcount (set: number): number {
  let count = 0
  for (; set !== 0; set &= set - 1) count++
  return count
}

function keep (shards: Uint8Array[], set: number): Array<Uint8Array | null> {
  return shards.map((shard, i) => (set & (1 << i)) !== 0 ? shard : null)
}

function describeSet (set: number, n: number): string {
  return Array.from({ length: n }, (_, i) => (set & (1 << i)) !== 0 ? String(i) : '-').join('')
}

/** Byte equality without dumping megabytes on failure (and regardless of Buffer vs Uint8Array). */
function assertBytes (actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(actual.length, expected.length, message)
  assert.ok(Buffer.compare(actual, expected) === 0, message ?? 'bytes differ')
}

/** Multiplication the slow way: carry-less product reduced by x^8 + x^4 + x^3 + x^2 + 1. */
function slowMul (a: number, b: number): number {
  let product = 0
  for (let i = 0; i < 8; i++) if ((b & (1 << i)) !== 0) product ^= a << i
  for (let bit = 14; bit >= 8; bit--) if ((product & (1 << bit)) !== 0) product ^= 0x11d << (bit - 8)
  return product
}

/** The (k + m) x k generator: identity rows, then the Cauchy rows. */
function generator (k: number, m: number): Uint8Array {
  const g = new Uint8Array((k + m) * k)
  for (let i = 0; i < k; i++) g[i * k + i] = 1
  g.set(cauchyMatrix(k, m), k * k)
  return g
}

function rowsOf (matrix: Uint8Array, cols: number, set: number, n: number): Uint8Array {
  const out: number[] = []
  for (let i = 0; i < n; i++) if ((set & (1 << i)) !== 0) out.push(...matrix.subarray(i * cols, (i + 1) * cols))
  return Uint8Array.from(out)
}

function isIdentity (a: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (a[i * n + j] !== (i === j ? 1 : 0)) return false
  return true
}

describe('GF(2^8) arithmetic (0x11d)', () => {
  it('has exp/log tables over the generator 2 that cover every nonzero element once', () => {
    const seen = new Set<number>()
    for (let i = 0; i < 255; i++) seen.add(EXP[i])
    assert.equal(seen.size, 255)
    assert.ok(!seen.has(0))
    for (let a = 1; a < 256; a++) assert.equal(EXP[LOG[a]], a)
    for (let i = 0; i < 510; i++) assert.equal(EXP[i], EXP[i % 255])
    assert.equal(mul(0x80, 2), 0x1d, 'x^8 reduces to x^4 + x^3 + x^2 + 1')
  })

  it('multiplies as carry-less multiplication mod 0x11d, for every pair', () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        if (mul(a, b) !== slowMul(a, b)) assert.fail(`mul(${a}, ${b}) = ${mul(a, b)}, expected ${slowMul(a, b)}`)
      }
    }
  })

  it('satisfies the field axioms', () => {
    const thirds = [0, 1, 2, 3, 0x1d, 0x53, 0x80, 0xca, 0xff]
    for (let a = 0; a < 256; a++) {
      assert.equal(mul(a, 1), a)
      assert.equal(mul(a, 0), 0)
      if (a !== 0) {
        assert.equal(mul(a, inv(a)), 1, `inverse of ${a}`)
        assert.equal(inv(inv(a)), a)
      }
      for (let b = 0; b < 256; b++) {
        const ab = mul(a, b)
        if (ab !== mul(b, a)) assert.fail(`commutativity for ${a}, ${b}`)
        if ((ab === 0) !== (a === 0 || b === 0)) assert.fail(`zero divisors ${a}, ${b}`)
        if (b !== 0 && div(ab, b) !== a) assert.fail(`division for ${a}, ${b}`)
        for (const c of thirds) {
          if (mul(ab, c) !== mul(a, mul(b, c))) assert.fail(`associativity for ${a}, ${b}, ${c}`)
          if (mul(a, b ^ c) !== (ab ^ mul(a, c))) assert.fail(`distributivity for ${a}, ${b}, ${c}`)
        }
      }
    }
    assert.throws(() => inv(0), RangeError)
    assert.throws(() => div(1, 0), RangeError)
  })

  it('builds the Cauchy rows as 1 / ((k + i) xor j)', () => {
    const c = cauchyMatrix(10, 4)
    assert.equal(c.length, 40)
    for (let i = 0; i < 4; i++) for (let j = 0; j < 10; j++) assert.equal(mul(c[i * 10 + j], (10 + i) ^ j), 1)
    assert.equal(cauchyMatrix(255, 1).length, 255)
    assert.throws(() => cauchyMatrix(0, 2), RangeError)
    assert.throws(() => cauchyMatrix(200, 57), RangeError)
  })

  it('inverts random nonsingular matrices', () => {
    const next = rng(7)
    let inverted = 0
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + (trial % 12)
      const a = Uint8Array.from({ length: n * n }, () => next() & 0xff)
      const before = a.slice()
      let b: Uint8Array
      try {
        b = invertMatrix(a, n)
      } catch (err) {
        assert.equal((err as Error).name, 'RangeError')
        continue
      }
      inverted++
      assertBytes(a, before, 'the input is left untouched')
      assert.ok(isIdentity(multiplyMatrices(b, a, n, n, n), n), `inverse * a, n=${n}`)
      assert.ok(isIdentity(multiplyMatrices(a, b, n, n, n), n), `a * inverse, n=${n}`)
    }
    assert.ok(inverted > 150)
  })

  it('rejects singular matrices', () => {
    assert.throws(() => invertMatrix(Uint8Array.from([1, 2, 1, 2]), 2), { name: 'RangeError', message: /singular/ })
    assert.throws(() => invertMatrix(new Uint8Array(9), 3), RangeError)
    // Row 2 = row 0 xor row 1.
    assert.throws(() => invertMatrix(Uint8Array.from([1, 2, 3, 4, 5, 6, 5, 7, 5]), 3), RangeError)
  })

  for (const [k, m] of [[4, 2], [6, 3], [10, 4]] as const) {
    it(`has every ${k} x ${k} submatrix of the ${k}+${m} generator invertible (MDS)`, () => {
      const g = generator(k, m)
      for (const set of subsets(k + m, k)) {
        const sub = rowsOf(g, k, set, k + m)
        const inverse = invertMatrix(sub, k)
        assert.ok(isIdentity(multiplyMatrices(inverse, sub, k, k, k), k), describeSet(set, k + m))
      }
    })
  }
})

/** mulAdd computed byte by byte with mul(), as the reference. */
function naiveMulAdd (coeffs: Uint8Array, rows: number, cols: number, sources: Uint8Array[], length: number): Uint8Array[] {
  return Array.from({ length: rows }, (_, r) => {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i++) {
      let sum = 0
      for (let c = 0; c < cols; c++) sum ^= mul(coeffs[r * cols + c], sources[c][i])
      out[i] = sum
    }
    return out
  })
}

/** `count` buffers of `length` bytes, each a view starting at an odd offset into a larger buffer. */
function unalignedViews (count: number, length: number, seed: number, fill = true): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = 1 + ((i * 7 + seed) % 63)
    const big = fill ? pattern(length + offset + 5, seed * 31 + i) : new Uint8Array(length + offset + 5).fill(0xa5)
    return big.subarray(offset, offset + length)
  })
}

describe('mulAddJs', () => {
  it('matches the byte-by-byte definition and overwrites its outputs', () => {
    for (const [rows, cols, length] of [[1, 1, 10], [4, 10, 77], [3, 5, 300], [2, 0, 20]]) {
      const coeffs = pattern(rows * cols, rows + cols)
      coeffs[0] = 0
      if (coeffs.length > 1) coeffs[1] = 1
      const sources = unalignedViews(cols, length, 3)
      const outputs = unalignedViews(rows, length, 4)
      mulAddJs(coeffs, rows, cols, sources, outputs, length)
      naiveMulAdd(coeffs, rows, cols, sources, length).forEach((expected, r) => assertBytes(outputs[r], expected, `row ${r}`))
    }
  })

  it('writes copies of the sources when asked', () => {
    const sources = unalignedViews(3, 100, 5)
    const outputs = unalignedViews(2, 100, 6)
    const copies = unalignedViews(2, 100, 7, false)
    mulAddJs(pattern(6, 2), 2, 3, sources, outputs, 100, copies)
    assertBytes(copies[0], sources[0])
    assertBytes(copies[1], sources[1])
  })

  it('rejects bad arguments', () => {
    const src = [new Uint8Array(10)]
    const out = [new Uint8Array(10)]
    assert.throws(() => mulAddJs(new Uint8Array(0), 1, 1, src, out, 10), RangeError)
    assert.throws(() => mulAddJs(new Uint8Array(1), 1, 1, src, out, 11), RangeError)
    assert.throws(() => mulAddJs(new Uint8Array(1), 1, 2, src, out, 10), RangeError)
    assert.throws(() => mulAddJs(new Uint8Array(1), 1, 1, src, out, -1), RangeError)
    const shared = new Uint8Array(30)
    assert.throws(() => mulAddJs(new Uint8Array(1), 1, 1, [shared.subarray(0, 10)], [shared.subarray(5, 15)], 10),
      { name: 'RangeError', message: /overlaps/ })
  })
})

describe('native GF(2^8) kernel', function () {
  before(function () {
    if (nativeDisabled) skipBecause(this, 'HOLDFAST_NATIVE=0')
    if (native === null) skipBecause(this, `the addon is not built: ${String((nativeLoadError as Error)?.message ?? nativeLoadError).split('\n')[0]}`)
  })

  it('reports a supported backend and refuses unknown ones', () => {
    const addon = native!
    assert.equal(kernelName, 'native')
    assert.ok(addon.backends().includes('scalar'))
    assert.ok(addon.backends().includes(addon.backend()))
    assert.throws(() => addon.setBackend('sse9'), RangeError)
    for (const name of ['avx2', 'gfni-avx2', 'gfni-avx512']) {
      if (!addon.backends().includes(name)) assert.throws(() => addon.setBackend(name), /not supported/)
    }
  })

  it('gives the same bytes as mulAddJs on every backend the CPU supports', () => {
    const addon = native!
    const original = addon.backend()
    const shapes: Array<[number, number]> = [[1, 1], [4, 10], [2, 10], [7, 3], [9, 12], [17, 5], [3, 0], [0, 3]]
    try {
      for (const backend of addon.backends()) {
        addon.setBackend(backend)
        for (const length of [0, 1, 31, 33, 64, 4097, 100003]) {
          for (const [rows, cols] of shapes) {
            const coeffs = pattern(rows * cols, length + rows * 3 + cols)
            if (coeffs.length > 2) { coeffs[0] = 0; coeffs[1] = 1 }
            const sources = unalignedViews(cols, length, rows + 1)
            const expected = unalignedViews(rows, length, 2)
            const actual = unalignedViews(rows, length, 9)
            const copies = unalignedViews(Math.min(cols, 2), length, 11, false)
            mulAddJs(coeffs, rows, cols, sources, expected, length)
            addon.mulAdd(coeffs, rows, cols, sources, actual, length, copies)
            for (let r = 0; r < rows; r++) assertBytes(actual[r], expected[r], `${backend}, ${rows}x${cols}, length ${length}, row ${r}`)
            copies.forEach((copy, c) => assertBytes(copy, sources[c], `${backend} copy ${c}`))
          }
        }
      }
    } finally {
      addon.setBackend(original)
    }
  })

  it('throws JS errors for bad arguments instead of crashing', () => {
    const addon = native!
    const src = [new Uint8Array(64)]
    const out = [new Uint8Array(64)]
    const one = new Uint8Array(1)
    const call = addon.mulAdd as (...args: unknown[]) => void
    assert.throws(() => call(one, 1, 1, src, out), TypeError)
    assert.throws(() => call([1], 1, 1, src, out, 64), TypeError)
    assert.throws(() => call(new Uint16Array(1), 1, 1, src, out, 64), TypeError)
    assert.throws(() => call(one, 1.5, 1, src, out, 64), RangeError)
    assert.throws(() => call(one, 257, 1, src, out, 64), RangeError)
    assert.throws(() => call(one, 1, 1, src, out, -1), RangeError)
    assert.throws(() => call(one, 1, 1, src, out, '64'), RangeError)
    assert.throws(() => call(new Uint8Array(0), 1, 1, src, out, 64), RangeError)
    assert.throws(() => call(one, 1, 1, src, out, 65), { name: 'RangeError', message: /sources\[0\]/ })
    assert.throws(() => call(one, 1, 1, src, [new Uint8Array(10)], 64), { name: 'RangeError', message: /outputs\[0\]/ })
    assert.throws(() => call(one, 1, 1, [src[0], src[0]], out, 64), RangeError)
    assert.throws(() => call(one, 1, 1, 'nope', out, 64), RangeError)
    assert.throws(() => call(one, 1, 1, [null], out, 64), TypeError)
    assert.throws(() => call(one, 1, 1, src, out, 64, [new Uint8Array(64), new Uint8Array(64)]), RangeError)
    const shared = new Uint8Array(200)
    assert.throws(() => call(one, 1, 1, [shared.subarray(0, 64)], [shared.subarray(63, 127)], 64), /overlaps sources/)
    assert.throws(() => call(new Uint8Array(2), 2, 1, src, [shared.subarray(0, 64), shared.subarray(32, 96)], 64),
      /overlaps outputs/)
    assert.throws(() => call(one, 1, 1, src, out, 64, [out[0]]), /overlaps outputs/)
    assert.throws(() => call(one, 1, 1, src, out, 64, [src[0]]), /overlaps sources/)
    assert.throws(() => addon.setBackend(3 as unknown as string), TypeError)
    // Length 0 touches nothing, so even overlapping buffers are fine.
    assert.doesNotThrow(() => call(one, 1, 1, [shared], [shared], 0))
  })
})

describe('erasure codec (Cauchy Reed-Solomon)', () => {
  it('is created by its stored name', () => {
    const codec = createCodec(CAUCHY_CODEC_NAME, 4, 2)
    assert.ok(codec instanceof CauchyCodec)
    assert.equal(codec.name, 'rs-cauchy-gf256-1')
    assert.equal(codec.k, 4)
    assert.equal(codec.m, 2)
  })

  it('rejects an unknown codec name with UnsupportedFormatError', () => {
    assert.throws(() => createCodec('rs-gf256-ronomon-1', 4, 2), { name: 'UnsupportedFormatError' })
    assert.throws(() => createCodec('rs-gf256-other-1', 4, 2), { name: 'UnsupportedFormatError' })
  })

  it('rejects invalid k and m with ConfigError', () => {
    for (const [k, m] of [[0, 2], [4, 0], [2.5, 1], [4, Number.NaN], [256, 1], [200, 57], [-1, 2]]) {
      assert.throws(() => new CauchyCodec(k, m), { name: 'ConfigError' }, `k=${k} m=${m}`)
    }
    assert.doesNotThrow(() => new CauchyCodec(1, 1))
    assert.doesNotThrow(() => new CauchyCodec(255, 1))
    assert.doesNotThrow(() => new CauchyCodec(128, 128))
  })

  it('sizes shards as ceil(length / k) rounded up to 64, at least 64', () => {
    const codec = new CauchyCodec(4, 2)
    assert.equal(codec.shardSizeFor(0), 64)
    assert.equal(codec.shardSizeFor(1), 64)
    assert.equal(codec.shardSizeFor(256), 64)
    assert.equal(codec.shardSizeFor(257), 128)
    assert.equal(codec.shardSizeFor(1000), 256)
    assert.equal(new CauchyCodec(10, 4).shardSizeFor(10 * 1024 * 1024), 1024 * 1024)
    assert.equal(new CauchyCodec(3, 1).shardSizeFor(3 * 64 + 1), 128)
  })

  describe('round trip', () => {
    for (const length of [0, 1, 63, 64, 1000, 1024 * 1024 + 3]) {
      it(`${length} bytes, 4+2`, async () => {
        const codec = new CauchyCodec(4, 2)
        const data = pattern(length, length)
        const { shardSize, shards } = await codec.encode(data)
        assert.equal(shardSize, codec.shardSizeFor(length))
        assert.equal(shards.length, 6)
        for (const shard of shards) assert.equal(shard.length, shardSize)
        assertBytes(await codec.decode(shards, shardSize, length), data)
        // Lose two data shards so the codec has to rebuild.
        assertBytes(await codec.decode([null, shards[1], null, shards[3], shards[4], shards[5]], shardSize, length), data)
        assertBytes(await codec.decode([shards[0], null, shards[2], null, shards[4], shards[5]], shardSize, length), data)
      })
    }

    it('puts the data, zero-padded, in the data shards', async () => {
      const codec = new CauchyCodec(3, 2)
      for (const length of [20, 130, 192]) {
        const data = pattern(length, length)
        const { shardSize, shards } = await codec.encode(data)
        const expected = new Uint8Array(3 * shardSize)
        expected.set(data)
        assertBytes(Buffer.concat(shards.slice(0, 3)), expected, `length ${length}`)
      }
    })

    it('gives parity equal to the generator times the data', async () => {
      const codec = new CauchyCodec(5, 3)
      const data = pattern(5 * 128 - 7, 12)
      const { shardSize, shards } = await codec.encode(data)
      const expected = naiveMulAdd(cauchyMatrix(5, 3), 3, 5, shards.slice(0, 5), shardSize)
      expected.forEach((parity, i) => assertBytes(shards[5 + i], parity, `parity ${i}`))
    })

    it('copies the input: later changes to it do not reach the shards', async () => {
      const codec = new CauchyCodec(4, 2)
      const data = pattern(4096, 8)
      const { shardSize, shards } = await codec.encode(data)
      data.fill(0)
      assertBytes(await codec.decode(shards, shardSize, 4096), pattern(4096, 8))
    })

    it('gives the same shards with the portable JS kernel', async () => {
      const data = pattern(100003, 10)
      const fast = await new CauchyCodec(10, 4).encode(data)
      const portable = await new CauchyCodec(10, 4, mulAddJs).encode(data)
      assert.equal(fast.shardSize, portable.shardSize)
      fast.shards.forEach((shard, i) => assertBytes(shard, portable.shards[i], `shard ${i}`))
    })

    it('10+4 with 1 MiB + 3 bytes and four shards lost', async () => {
      const codec = new CauchyCodec(10, 4)
      const data = pattern(1024 * 1024 + 3, 9)
      const { shardSize, shards } = await codec.encode(data)
      const lost = keep(shards, 0b11111111111111 & ~(1 << 0) & ~(1 << 7) & ~(1 << 10) & ~(1 << 13))
      assertBytes(await codec.decode(lost, shardSize, data.length), data)
    })
  })

  for (const [k, m] of [[2, 1], [3, 2], [4, 2]] as const) {
    describe(`${k}+${m}`, () => {
      const codec = new CauchyCodec(k, m)
      // A length that ends inside the last data shard, and one that leaves whole shards of padding.
      for (const length of [1000 + k, 100]) {
        const data = pattern(length, k * 10 + m + length)

        it(`decodes ${length} bytes from every subset of k or more shards`, async () => {
          const { shardSize, shards } = await codec.encode(data)
          for (const set of subsets(k + m, k, true)) {
            const out = await codec.decode(keep(shards, set), shardSize, data.length)
            assertBytes(out, data, `shards present: ${describeSet(set, k + m)}`)
          }
        })

        it(`reconstructs byte-identical missing shards of ${length} bytes from every subset of k or more`, async () => {
          const { shardSize, shards } = await codec.encode(data)
          for (const set of subsets(k + m, k, true)) {
            const rebuilt = await codec.reconstruct(keep(shards, set), shardSize)
            assert.equal(rebuilt.length, k + m)
            rebuilt.forEach((shard, i) => {
              assertBytes(shard, shards[i], `shard ${i}, present: ${describeSet(set, k + m)}`)
            })
          }
        })
      }

      it('fails with PackUnrecoverableError below k shards', async () => {
        const data = pattern(500, k)
        const { shardSize, shards } = await codec.encode(data)
        for (let size = 0; size < k; size++) {
          for (const set of subsets(k + m, size)) {
            await assert.rejects(codec.decode(keep(shards, set), shardSize, data.length),
              { name: 'PackUnrecoverableError', message: `need ${k} shards, have ${size}` })
            await assert.rejects(codec.reconstruct(keep(shards, set), shardSize), { name: 'PackUnrecoverableError' })
          }
        }
      })
    })
  }

  it('10+4 decodes and reconstructs from random subsets of 10 or more shards', async () => {
    const codec = new CauchyCodec(10, 4)
    const data = pattern(10 * 4096 - 100, 14)
    const { shardSize, shards } = await codec.encode(data)
    const next = rng(14)
    const all = subsets(14, 10, true)
    for (let trial = 0; trial < 60; trial++) {
      const set = all[next() % all.length]
      const label = describeSet(set, 14)
      assertBytes(await codec.decode(keep(shards, set), shardSize, data.length), data, label)
      const rebuilt = await codec.reconstruct(keep(shards, set), shardSize)
      rebuilt.forEach((shard, i) => assertBytes(shard, shards[i], `shard ${i}, present: ${label}`))
    }
  })

  it('does not read parity when every data shard is present', async () => {
    const codec = new CauchyCodec(4, 2)
    const data = pattern(3000, 4)
    const { shardSize, shards } = await codec.encode(data)
    const garbage = new Uint8Array(shardSize).fill(0xaa)
    assertBytes(await codec.decode([...shards.slice(0, 4), garbage, garbage], shardSize, data.length), data)
  })

  it('leaves the caller\'s shards untouched', async () => {
    const codec = new CauchyCodec(3, 2)
    const data = pattern(999, 5)
    const { shardSize, shards } = await codec.encode(data)
    const before = shards.map((s) => Buffer.from(s))
    await codec.decode([null, shards[1], shards[2], shards[3], null], shardSize, data.length)
    await codec.reconstruct([shards[0], null, null, shards[3], shards[4]], shardSize)
    shards.forEach((s, i) => assertBytes(s, before[i], `shard ${i}`))
  })

  it('rejects a shard of the wrong size with IntegrityError naming it', async () => {
    const codec = new CauchyCodec(4, 2)
    const data = pattern(4000, 6)
    const { shardSize, shards } = await codec.encode(data)
    const short = keep(shards, 0b111111)
    short[4] = shards[4].subarray(1)
    await assert.rejects(codec.decode(short, shardSize, data.length), { name: 'IntegrityError', message: /shard 4/ })
    await assert.rejects(codec.reconstruct(short, shardSize), { name: 'IntegrityError', message: /shard 4/ })
    const long = keep(shards, 0b111111)
    long[1] = new Uint8Array(shardSize + 64)
    await assert.rejects(codec.decode(long, shardSize, data.length), { name: 'IntegrityError', message: /shard 1/ })
  })

  it('rejects bad slot counts, shard sizes and lengths with RangeError', async () => {
    const codec = new CauchyCodec(4, 2)
    const { shardSize, shards } = await codec.encode(pattern(1000))
    await assert.rejects(codec.decode(shards.slice(0, 5), shardSize, 1000), RangeError)
    await assert.rejects(codec.decode(shards, 100, 1000), RangeError)
    await assert.rejects(codec.decode(shards, shardSize, 4 * shardSize + 1), RangeError)
    await assert.rejects(codec.decode(shards, shardSize, -1), RangeError)
    await assert.rejects(codec.reconstruct(shards, 0), RangeError)
  })

  it('throws AbortedError when the signal is already aborted', async () => {
    const codec = new CauchyCodec(4, 2)
    const { shardSize, shards } = await codec.encode(pattern(100))
    const signal = AbortSignal.abort()
    await assert.rejects(codec.encode(pattern(100), { signal }), { name: 'AbortedError' })
    await assert.rejects(codec.decode(shards, shardSize, 100, { signal }), { name: 'AbortedError' })
    await assert.rejects(codec.reconstruct(shards, shardSize, { signal }), { name: 'AbortedError' })
  })

  // Format-stability guard. Parity bytes are written to stores and must stay readable by every later
  // version under the same codec name: changing these hashes breaks every stored repository's ability to
  // repair from parity. If a change to the field, the Cauchy points, padding or shard layout makes them
  // fail, the change needs a new codec name, not new hashes. (The hashes were cross-checked against an
  // independent implementation: carry-less multiplication mod 0x11d, coefficients 1 / ((k + i) xor j).)
  for (const [length, shardSize, expected] of [
    [10000, 2560, 'b7ce8e9f0ba345b22564c851b3ff9175f69b1d6c84da384f4d2018e5cf41a9e5'],
    [4 * 1024 * 1024, 1024 * 1024, '1ae6f0335cc205158d9d7a3c5de0ce75a7d9ef1158187a41e50e0996f3e75c65']
  ] as const) {
    it(`produces the recorded 4+2 parity for a fixed ${length}-byte input`, async () => {
      const codec = new CauchyCodec(4, 2)
      const data = new Uint8Array(length)
      for (let i = 0; i < length; i++) data[i] = (i * 7) % 251
      const encoded = await codec.encode(data)
      assert.equal(encoded.shardSize, shardSize)
      const hash = createHash('sha256')
      for (const shard of encoded.shards.slice(4)) hash.update(shard)
      assert.equal(hash.digest('hex'), expected)
    })
  }
})
