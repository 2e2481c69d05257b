import { NATIVE_ENV } from '../util/native-disabled.js'
import { Command, EXIT } from './command.js'
import { printJson } from './context.js'

/**
 * `holdfast doctor`: which kernels run on this machine and how fast, measured on the spot (about a
 * second), and why a native addon did not load. Exits 1 when zstd is missing (nothing can be backed up).
 */
export const doctorCommand: Command = {
  name: 'doctor',
  usage: 'holdfast doctor [--json]',
  summary: 'show the kernels this machine runs (erasure coding, Merkle roots, zstd), their speed measured now, and why a native one is missing',
  options: {},
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const { measureKernels } = await import('../doctor/index.js')
    const r = await measureKernels()
    const code = r.zstd.library === null ? EXIT.error : EXIT.ok
    if (ctx.json) { printJson(ctx, r); return code }
    const speed = (mbPerSecond: number | null): string => mbPerSecond === null ? '-' : `${mbPerSecond} MB/s`
    ctx.out(`Node ${r.node} on ${r.platform}/${r.arch}; ${NATIVE_ENV}=0 ${r.nativeDisabled ? 'is set: native addons not loaded' : 'is not set'}`)
    ctx.out(`erasure  ${r.erasure.kernel.padEnd(20)} ${speed(r.erasure.mbPerSecond).padStart(11)}  (${r.erasure.measured})`)
    ctx.out(`merkle   ${r.merkle.kernel.padEnd(20)} ${speed(r.merkle.mbPerSecond).padStart(11)}  (${r.merkle.measured})`)
    ctx.out(`zstd     ${(r.zstd.library ?? 'none').padEnd(20)} ${speed(r.zstd.mbPerSecond).padStart(11)}  (${r.zstd.measured})`)
    if (r.erasure.loadError !== null) ctx.out(`the erasure addon did not load: ${r.erasure.loadError}`)
    if (r.merkle.loadError !== null) ctx.out(`the Merkle addon did not load: ${r.merkle.loadError}`)
    if (r.erasure.loadError !== null || r.merkle.loadError !== null) {
      ctx.out('the JavaScript kernels give the same bytes, more slowly; to build the native ones, install python3, make and a C compiler, then run npm run install in the package')
    }
    if (r.zstd.error !== null) ctx.err(`holdfast: ${r.zstd.error}`)
    return code
  }
}
