/** zstd on node:zlib and on zstd-napi: round trips, the level, frames one writes and the other reads, no library at all. */
import assert from 'node:assert/strict'
import * as zlibModule from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { ZSTD_DEFAULT_LEVEL, chooseZstd, codecOf, zstdCompress, zstdDecompress, zstdLibrary } from '../../src/compress/zstd.js'
import { loadNapiZstd } from '../../src/compress/napi-zstd.js'
import { zlibZstd } from '../../src/compress/zlib-zstd.js'
import { frameContentSize } from '../../src/compress/zstd-frame.js'
import type { ZstdCodec } from '../../src/compress/zstd-codec.js'
import { skipBecause } from '../skip-because.js'

/** Text-like bytes that compress about 2:1, with some incompressible stretches. */
function sample (length: number, seed = 1): Buffer {
  const words = ['shard', 'pack', 'peer', 'snapshot', 'restore', 'merkle', 'erasure', 'parity', ' ', '\n', 'zstd']
  const out = Buffer.alloc(length)
  let x = seed
  for (let i = 0; i < length;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    if ((x >>> 28) === 0) { const r = randomBytes(Math.min(64, length - i)); r.copy(out, i); i += r.length; continue }
    i += out.write(words[(x >>> 16) % words.length], i)
  }
  return out
}

const SIZES = [0, 1, 63, 64, 4096, 100_003, 1024 * 1024 + 17]

describe('zstd', () => {
  it('round-trips through the library in use', function () {
    if (zstdLibrary === null) skipBecause(this, `no zstd on Node ${process.version} here (node:zlib has none, zstd-napi not installed)`)
    for (const size of SIZES) {
      const data = sample(size, size + 1)
      for (const level of [1, 3, 9]) {
        const frame = zstdCompress(data, level)
        assert.deepEqual([...frame.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd], 'a zstd frame')
        assert.ok(zstdDecompress(frame).equals(data), `${zstdLibrary} level ${level}, ${size} bytes`)
      }
    }
    assert.ok(zstdCompress(sample(1 << 20)).length < (1 << 20) * 0.7, 'level 1 compresses text-like data')
    assert.equal(ZSTD_DEFAULT_LEVEL, 1)
  })

  it('reads a frame header\'s content size', () => {
    // hand-made headers: 1-byte size (single segment), 2-byte size (+256), 4-byte size with a window byte and a 1-byte dictionary id
    assert.equal(frameContentSize(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 200)), 200)
    assert.equal(frameContentSize(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x01, 0x02)), 0x0201 + 256)
    assert.equal(frameContentSize(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x81, 0x48, 0x07, 0x00, 0x00, 0x10, 0x00)), 0x100000)
    assert.equal(frameContentSize(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x48)), null, 'no size declared')
    assert.equal(frameContentSize(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x80, 0x48, 0x00)), null, 'truncated')
    assert.equal(frameContentSize(Buffer.from('{"json": true}')), null, 'not zstd')
    if (zstdLibrary !== null) {
      for (const size of [1, 300, 70_000]) assert.equal(frameContentSize(zstdCompress(sample(size))), size, `${zstdLibrary}, ${size} bytes`)
    }
  })

  it('takes node:zlib\'s zstd when Node has it, without loading zstd-napi', () => {
    const zlib = zlibZstd()
    let loaded = 0
    const choice = chooseZstd(zlib, () => { loaded++; return loadNapiZstd() })
    if (zlib !== null) {
      assert.equal(choice.codec?.library, 'node:zlib')
      assert.equal(loaded, 0)
    } else {
      assert.equal(loaded, 1)
      assert.equal(typeof (zlibModule as Record<string, unknown>).zstdCompressSync, 'undefined', 'null only where node:zlib has no zstd')
    }
    assert.equal(zstdLibrary, choice.codec?.library ?? null, 'the module chose the same')
  })

  it('throws ZstdUnavailableError, saying what would help, when neither library is there', () => {
    const missing = new Error("Cannot find module 'zstd-napi'")
    const choice = chooseZstd(null, () => ({ codec: null, error: missing }))
    assert.throws(() => codecOf(choice), (err: Error) => {
      assert.equal(err.name, 'ZstdUnavailableError')
      assert.match(err.message, /Node >= 22\.15/)
      assert.match(err.message, /C toolchain/)
      assert.equal(err.cause, missing)
      return true
    })
  })

  describe('node:zlib and zstd-napi read each other\'s frames', () => {
    let zlib: ZstdCodec
    let napi: ZstdCodec
    before(function () {
      const z = zlibZstd()
      const n = loadNapiZstd().codec
      if (z === null) skipBecause(this, `node:zlib has no zstd on Node ${process.version} (it has from 22.15 / 23.8); CI runs this file again under Node 24`)
      if (n === null) skipBecause(this, 'zstd-napi is not installed (it needs a C toolchain at npm install)')
      zlib = z
      napi = n
    })

    it('decompresses with one what the other compressed, at every size and level', () => {
      for (const size of SIZES) {
        const data = sample(size, 7 * size + 3)
        for (const level of [1, 3, 19]) {
          if (level === 19 && size > 100_003) continue
          assert.ok(napi.decompress(zlib.compress(data, level)).equals(data), `node:zlib -> zstd-napi, level ${level}, ${size} bytes`)
          assert.ok(zlib.decompress(napi.compress(data, level)).equals(data), `zstd-napi -> node:zlib, level ${level}, ${size} bytes`)
        }
      }
    })

    it('gives the level the same meaning in both', () => {
      const data = sample(1 << 20, 5)
      for (const level of [1, 3, 9]) {
        const a = zlib.compress(data, level).length
        const b = napi.compress(data, level).length
        assert.ok(Math.abs(a - b) <= 0.02 * Math.max(a, b), `level ${level}: node:zlib ${a} bytes, zstd-napi ${b} bytes`)
      }
      assert.ok(zlib.compress(data, 9).length < zlib.compress(data, 1).length, 'a higher level compresses more')
    })
  })
})
