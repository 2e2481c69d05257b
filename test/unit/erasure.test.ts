import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createCodec, RONOMON_CODEC_NAME, RonomonCodec } from '../../src/erasure/index.js'

/** Deterministic bytes that differ per position and per seed, so misplaced shards show up. */
function pattern (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed * 2654435761 >>> 0
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/** Every subset of {0..n-1} with at least `min` members, as bit sets. */
function subsets (n: number, min: number): number[] {
  const out: number[] = []
  for (let set = 0; set < 1 << n; set++) {
    let count = 0
    for (let i = 0; i < n; i++) if ((set & (1 << i)) !== 0) count++
    if (count >= min) out.push(set)
  }
  return out
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

describe('erasure codec (ronomon)', () => {
  it('is created by its stored name', () => {
    const codec = createCodec(RONOMON_CODEC_NAME, 4, 2)
    assert.ok(codec instanceof RonomonCodec)
    assert.equal(codec.name, 'rs-gf256-ronomon-1')
    assert.equal(codec.k, 4)
    assert.equal(codec.m, 2)
  })

  it('rejects an unknown codec name with UnsupportedFormatError', () => {
    assert.throws(() => createCodec('rs-gf256-other-1', 4, 2), { name: 'UnsupportedFormatError' })
  })

  it('rejects invalid k and m with ConfigError', () => {
    for (const [k, m] of [[0, 2], [25, 2], [4, 0], [4, 7], [2.5, 1], [4, Number.NaN]]) {
      assert.throws(() => new RonomonCodec(k, m), { name: 'ConfigError' }, `k=${k} m=${m}`)
    }
    assert.doesNotThrow(() => new RonomonCodec(24, 6))
    assert.doesNotThrow(() => new RonomonCodec(1, 1))
  })

  it('sizes shards as ceil(length / k) rounded up to 8, at least 8', () => {
    const codec = new RonomonCodec(4, 2)
    assert.equal(codec.shardSizeFor(0), 8)
    assert.equal(codec.shardSizeFor(1), 8)
    assert.equal(codec.shardSizeFor(32), 8)
    assert.equal(codec.shardSizeFor(33), 16)
    assert.equal(codec.shardSizeFor(1000), 256)
    assert.equal(new RonomonCodec(10, 4).shardSizeFor(10 * 1024 * 1024), 1024 * 1024)
  })

  describe('round trip', () => {
    for (const length of [0, 1, 7, 8, 1000, 1024 * 1024 + 3]) {
      it(`${length} bytes, 4+2`, async () => {
        const codec = new RonomonCodec(4, 2)
        const data = pattern(length, length)
        const { shardSize, shards } = await codec.encode(data)
        assert.equal(shardSize, codec.shardSizeFor(length))
        assert.equal(shards.length, 6)
        for (const shard of shards) assert.equal(shard.length, shardSize)
        assertBytes(await codec.decode(shards, shardSize, length), data)
        // Lose two data shards so the engine has to rebuild.
        assertBytes(await codec.decode([null, shards[1], null, shards[3], shards[4], shards[5]], shardSize, length), data)
      })
    }

    it('puts the data, zero-padded, in the data shards', async () => {
      const codec = new RonomonCodec(3, 2)
      const data = pattern(20)
      const { shardSize, shards } = await codec.encode(data)
      assert.equal(shardSize, 8)
      const expected = new Uint8Array(24)
      expected.set(data)
      assertBytes(Buffer.concat(shards.slice(0, 3)), expected)
    })

    it('10+4 with 1 MiB + 3 bytes and four shards lost', async () => {
      const codec = new RonomonCodec(10, 4)
      const data = pattern(1024 * 1024 + 3, 9)
      const { shardSize, shards } = await codec.encode(data)
      const lost = keep(shards, 0b11111111111111 & ~(1 << 0) & ~(1 << 7) & ~(1 << 10) & ~(1 << 13))
      assertBytes(await codec.decode(lost, shardSize, data.length), data)
    })
  })

  for (const [k, m] of [[2, 1], [3, 2], [4, 2]] as const) {
    describe(`${k}+${m}`, () => {
      const codec = new RonomonCodec(k, m)
      const data = pattern(1000 + k, k * 10 + m)

      it('decodes from every subset of k or more shards', async () => {
        const { shardSize, shards } = await codec.encode(data)
        for (const set of subsets(k + m, k)) {
          const out = await codec.decode(keep(shards, set), shardSize, data.length)
          assertBytes(out, data, `shards present: ${describeSet(set, k + m)}`)
        }
      })

      it('reconstructs byte-identical missing shards from every subset of k or more', async () => {
        const { shardSize, shards } = await codec.encode(data)
        for (const set of subsets(k + m, k)) {
          const rebuilt = await codec.reconstruct(keep(shards, set), shardSize)
          assert.equal(rebuilt.length, k + m)
          rebuilt.forEach((shard, i) => {
            assertBytes(shard, shards[i], `shard ${i}, present: ${describeSet(set, k + m)}`)
          })
        }
      })

      it('fails with PackUnrecoverableError below k shards', async () => {
        const { shardSize, shards } = await codec.encode(data)
        for (const set of subsets(k + m, 0).filter((s) => !subsets(k + m, k).includes(s))) {
          await assert.rejects(codec.decode(keep(shards, set), shardSize, data.length),
            { name: 'PackUnrecoverableError', message: new RegExp(`need ${k} shards`) })
          await assert.rejects(codec.reconstruct(keep(shards, set), shardSize), { name: 'PackUnrecoverableError' })
        }
      })
    })
  }

  it('decodes with parity shards missing and with data shards missing', async () => {
    const codec = new RonomonCodec(4, 2)
    const data = pattern(5000, 3)
    const { shardSize, shards } = await codec.encode(data)
    const [d0, d1, d2, d3, p0, p1] = shards
    assertBytes(await codec.decode([d0, d1, d2, d3, null, null], shardSize, data.length), data)
    assertBytes(await codec.decode([null, d1, null, d3, p0, p1], shardSize, data.length), data)
    assertBytes(await codec.decode([d0, null, d2, d3, null, p1], shardSize, data.length), data)
  })

  it('does not read parity when every data shard is present', async () => {
    const codec = new RonomonCodec(4, 2)
    const data = pattern(3000, 4)
    const { shardSize, shards } = await codec.encode(data)
    const garbage = new Uint8Array(shardSize).fill(0xaa)
    assertBytes(await codec.decode([...shards.slice(0, 4), garbage, garbage], shardSize, data.length), data)
  })

  it('leaves the caller\'s shards untouched', async () => {
    const codec = new RonomonCodec(3, 2)
    const data = pattern(999, 5)
    const { shardSize, shards } = await codec.encode(data)
    const before = shards.map((s) => Buffer.from(s))
    await codec.decode([null, shards[1], shards[2], shards[3], null], shardSize, data.length)
    await codec.reconstruct([shards[0], null, null, shards[3], shards[4]], shardSize)
    shards.forEach((s, i) => assertBytes(s, before[i], `shard ${i}`))
  })

  it('rejects a shard of the wrong size with IntegrityError naming it', async () => {
    const codec = new RonomonCodec(4, 2)
    const data = pattern(4000, 6)
    const { shardSize, shards } = await codec.encode(data)
    const short = keep(shards, 0b111111)
    short[4] = shards[4].subarray(1)
    await assert.rejects(codec.decode(short, shardSize, data.length), { name: 'IntegrityError', message: /shard 4/ })
    await assert.rejects(codec.reconstruct(short, shardSize), { name: 'IntegrityError', message: /shard 4/ })
    const long = keep(shards, 0b111111)
    long[1] = new Uint8Array(shardSize + 8)
    await assert.rejects(codec.decode(long, shardSize, data.length), { name: 'IntegrityError', message: /shard 1/ })
  })

  it('throws AbortedError when the signal is already aborted', async () => {
    const codec = new RonomonCodec(4, 2)
    const { shardSize, shards } = await codec.encode(pattern(100))
    const signal = AbortSignal.abort()
    await assert.rejects(codec.encode(pattern(100), { signal }), { name: 'AbortedError' })
    await assert.rejects(codec.decode(shards, shardSize, 100, { signal }), { name: 'AbortedError' })
    await assert.rejects(codec.reconstruct(shards, shardSize, { signal }), { name: 'AbortedError' })
  })

  // Format-stability guard. Parity bytes are written to stores and must stay readable by every later
  // version under the same codec name. If an upgrade of @ronomon/reed-solomon, or a change to padding or
  // shard layout, alters them, existing repositories could no longer be repaired from parity: these hashes
  // must then fail, and the change needs a new codec name rather than new hashes. Two sizes, because the
  // engine splits large shards into cache-sized blocks and that split changes the parity bytes too.
  for (const [length, shardSize, expected] of [
    [10000, 2504, 'c6cf7481da4a7b3bbb3d760a0ccc397ff699dfbaf882658f0c6ae97caea9f2df'],
    [4 * 1024 * 1024, 1024 * 1024, 'ed1c02311a2906069d4c0c445e7237863f086b2e38efe818bb0bcb7ea80bd163']
  ] as const) {
    it(`produces the recorded 4+2 parity for a fixed ${length}-byte input`, async () => {
      const codec = new RonomonCodec(4, 2)
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
