/** `holdfast doctor` through the installed command (bin/holdfast): the kernels this process would run, measured. */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { BIN } from '../../scripts/lib/cli-runner.js'
import { kernelDescription } from '../../src/erasure/gf-kernel.js'
import { merkleBackend } from '../../src/audit/fast-merkle-root.js'
import { zstdLibrary } from '../../src/compress/zstd.js'
import type { KernelReport } from '../../src/doctor/index.js'

const run = promisify(execFile)

async function doctor (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string, stderr: string }> {
  return await run(BIN, ['doctor', ...args], { env: { ...process.env, ...env }, timeout: 60_000 })
}

describe('holdfast doctor', function () {
  this.timeout(120_000)

  it('--json names the kernels this process runs, with a measured speed for each', async () => {
    const { stdout } = await doctor(['--json'])
    const r = JSON.parse(stdout) as KernelReport
    assert.equal(r.node, process.version)
    assert.equal(r.platform, process.platform)
    assert.equal(r.arch, process.arch)
    assert.equal(r.nativeDisabled, process.env.HOLDFAST_NATIVE === '0')
    // the CLI loads the same addons as this test process, under the same environment
    assert.equal(r.erasure.kernel, kernelDescription())
    assert.match(r.erasure.kernel, /^(js|native\/(scalar|avx2|gfni-avx2|gfni-avx512))$/)
    assert.equal(r.merkle.kernel, merkleBackend)
    assert.equal(r.zstd.library, zstdLibrary)
    assert.ok(zstdLibrary !== null, 'this machine has zstd (else doctor exits 1)')
    for (const [name, rate] of [['erasure', r.erasure.mbPerSecond], ['merkle', r.merkle.mbPerSecond], ['zstd', r.zstd.mbPerSecond]] as const) {
      assert.ok(typeof rate === 'number' && rate > 1 && rate < 1e6, `${name}: ${String(rate)} MB/s`)
    }
    assert.equal(r.zstd.error, null)
    if (r.erasure.kernel.startsWith('native/')) assert.equal(r.erasure.loadError, null)
  })

  it('shows the JavaScript kernels with HOLDFAST_NATIVE=0, and no load error (nothing was tried)', async () => {
    const { stdout } = await doctor(['--json'], { HOLDFAST_NATIVE: '0' })
    const r = JSON.parse(stdout) as KernelReport
    assert.equal(r.nativeDisabled, true)
    assert.equal(r.erasure.kernel, 'js')
    assert.equal(r.merkle.kernel, 'javascript')
    assert.equal(r.erasure.loadError, null)
    assert.equal(r.merkle.loadError, null)
    assert.equal(r.zstd.library, zstdLibrary, 'zstd is not an addon where node:zlib has it, and stays zstd-napi where not')
    assert.ok(r.erasure.mbPerSecond > 1)
  })

  it('prints one line per kernel for a person', async () => {
    const { stdout } = await doctor([], { HOLDFAST_NATIVE: '0' })
    const lines = stdout.trim().split('\n')
    assert.match(lines[0], new RegExp(`^Node ${process.version.replace(/\./g, '\\.')} on ${process.platform}/${process.arch}; HOLDFAST_NATIVE=0 is set`))
    assert.match(lines[1], /^erasure +js +\d+ MB\/s +\(encode 4\+2, 16 MiB packs\)$/)
    assert.match(lines[2], /^merkle +javascript +\d+ MB\/s/)
    assert.match(lines[3], new RegExp(`^zstd +${String(zstdLibrary)} +\\d+ MB/s`))
  })
})
