/** scripts/install-native.cjs, npm's install step: it builds with node-gyp, and a failed build never fails the install. */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const SCRIPT = fileURLToPath(new URL('../../../scripts/install-native.cjs', import.meta.url))
const run = promisify(execFile)

describe('install-native.cjs (the package\'s install script)', () => {
  let root: string
  beforeEach(async () => {
    // a copy of the script in a package of its own: it builds in the folder above scripts/
    root = await mkdtemp(join(tmpdir(), 'hf-install-'))
    await mkdir(join(root, 'scripts'))
    await copyFile(SCRIPT, join(root, 'scripts', 'install-native.cjs'))
  })
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  /** Runs the script with `nodeGyp` (a script body) standing for npm's node-gyp. */
  async function install (nodeGyp: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
    const fake = join(root, 'fake-node-gyp.cjs')
    await writeFile(fake, nodeGyp)
    const { stdout } = await run(process.execPath, [join(root, 'scripts', 'install-native.cjs')],
      { cwd: root, env: { ...process.env, HOLDFAST_NO_NATIVE_BUILD: '', npm_config_node_gyp: fake, ...env } })
    return stdout
  }

  it('says in one line that the JavaScript kernels will be used, and exits 0, when node-gyp fails', async () => {
    const out = await install("console.error('gyp ERR! find Python'); process.exit(1)")
    assert.equal(out.trim().split('\n').length, 1)
    assert.match(out, /^holdfast: native kernels not built \(no C toolchain\?\): the JavaScript kernels will be used; see holdfast doctor/)
    assert.match(await readFile(join(root, 'build', 'install-native.log'), 'utf8'), /gyp ERR! find Python/, 'node-gyp\'s output is kept')
  })

  it('runs node-gyp rebuild in the package and reports the addons it built', async () => {
    const out = await install(`
      const fs = require('fs')
      if (process.argv[2] !== 'rebuild' || process.cwd() !== ${JSON.stringify(root)}) process.exit(3)
      fs.mkdirSync('build/Release', { recursive: true })
      for (const f of ['holdfast_gf.node', 'holdfast_merkle.node']) fs.writeFileSync('build/Release/' + f, '')`)
    assert.match(out, /^holdfast: native kernels built/)
  })

  it('does not count a build that exits 0 without both addons', async () => {
    const out = await install("require('fs').mkdirSync('build/Release', { recursive: true }); require('fs').writeFileSync('build/Release/holdfast_gf.node', '')")
    assert.match(out, /native kernels not built/)
  })

  it('skips the build with HOLDFAST_NO_NATIVE_BUILD=1', async () => {
    const out = await install("require('fs').writeFileSync('ran', ''); process.exit(1)", { HOLDFAST_NO_NATIVE_BUILD: '1' })
    assert.match(out, /^holdfast: native kernels not built \(HOLDFAST_NO_NATIVE_BUILD=1\)/)
    await assert.rejects(stat(join(root, 'ran')), { code: 'ENOENT' })
    await assert.rejects(stat(join(root, 'build')), { code: 'ENOENT' })
  })
})
