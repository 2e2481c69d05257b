/**
 * The GF(2^8) multiply-accumulate kernel the codec runs: the native addon (src/erasure/native/gf256.c,
 * built by scripts/install-native.cjs into build/Release/holdfast_gf.node when the package is installed
 * on a machine with a C toolchain) when it loads, else the portable mulAddJs, which computes the same
 * bytes more slowly. HOLDFAST_NATIVE=0 leaves the addon unloaded.
 */
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { mulAddJs } from './gf256.js'
import { nativeDisabled as disabledByEnv } from '../util/native-disabled.js'

/**
 * outputs[r][0 .. length) = XOR over c of coeffs[r * cols + c] * sources[c][i] (overwritten); and, when
 * given, copies[c][0 .. length) = sources[c][0 .. length) for the first copies.length sources, in the
 * same pass. See mulAddJs in gf256.ts.
 */
export type MulAdd = (coeffs: Uint8Array, rows: number, cols: number, sources: Uint8Array[],
  outputs: Uint8Array[], length: number, copies?: Uint8Array[] | null) => void

/** The addon's exports. */
export interface NativeGf {
  mulAdd: MulAdd
  /** The SIMD kernel in use: 'scalar', 'avx2', 'gfni-avx2' or 'gfni-avx512'. */
  backend: () => string
  /** The kernels this CPU can run, slowest first. */
  backends: () => string[]
  /** Forces a kernel, process-wide (tests, benchmarks); throws if unknown or unsupported here. */
  setBackend: (name: string) => void
}

/**
 * Where the addon is, relative to this file: compiled, it runs from dist/src/erasure/, three levels
 * below the package root; the second candidate serves running the TypeScript sources directly.
 */
const CANDIDATES = ['../../../build/Release/holdfast_gf.node', '../../build/Release/holdfast_gf.node']

function load (): { addon: NativeGf | null, error: unknown } {
  if (disabledByEnv()) return { addon: null, error: null }
  const require = createRequire(import.meta.url)
  let error: unknown = null
  for (const candidate of CANDIDATES) {
    try {
      const addon = require(fileURLToPath(new URL(candidate, import.meta.url))) as NativeGf
      if (typeof addon.mulAdd === 'function') return { addon, error: null }
    } catch (err) {
      // Keep the first failure: it is the one about the path a built package uses.
      error ??= err
    }
  }
  return { addon: null, error }
}

const loaded = load()

/** The native addon, or null when it could not be loaded (see nativeLoadError). */
export const native: NativeGf | null = loaded.addon
/** Whether HOLDFAST_NATIVE=0 kept the addon unloaded. */
export const nativeDisabled: boolean = disabledByEnv()
/** Why the native addon did not load, for diagnostics; null when it did or was not asked to (HOLDFAST_NATIVE=0). */
export const nativeLoadError: unknown = loaded.addon === null ? loaded.error : null
/** Which kernel the codec uses: 'native' (the addon) or 'js' (the portable fallback). */
export const kernelName: 'native' | 'js' = native === null ? 'js' : 'native'
/** The kernel the codec uses now, with the addon's SIMD backend: e.g. 'native/gfni-avx512' or 'js'. */
export function kernelDescription (): string {
  return native === null ? 'js' : `native/${native.backend()}`
}
export const mulAdd: MulAdd = native?.mulAdd ?? mulAddJs
