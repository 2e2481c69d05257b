import { createRequire } from 'node:module'
import type { ZstdCodec } from './zstd-codec.js'

/** The parts of zstd-napi used here (an optional dependency: not there when its build failed, so not imported for types). */
interface ZstdNapi {
  Compressor: new () => { setParameters: (p: Record<string, number>) => void, compress: (b: Uint8Array) => Buffer }
  decompress: (b: Uint8Array) => Buffer
}

/** zstd through the zstd-napi addon, or why it cannot be loaded (not installed: it needs a C toolchain). */
export function loadNapiZstd (): { codec: ZstdCodec | null, error: unknown } {
  let zstd: ZstdNapi
  try {
    zstd = createRequire(import.meta.url)('zstd-napi') as ZstdNapi
  } catch (err) {
    return { codec: null, error: err }
  }
  // one compressor (a zstd context, reused call after call) per level
  const compressors = new Map<number, { compress: (b: Uint8Array) => Buffer }>()
  return {
    codec: {
      library: 'zstd-napi',
      compress (data, level) {
        let c = compressors.get(level)
        if (c === undefined) {
          const comp = new zstd.Compressor()
          comp.setParameters({ compressionLevel: level })
          compressors.set(level, c = comp)
        }
        return c.compress(data)
      },
      decompress: data => zstd.decompress(data)
    },
    error: null
  }
}
