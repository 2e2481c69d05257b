#!/usr/bin/env node
/*
 * npm's `install` step for the package root: builds the two native kernels of binding.gyp
 * (build/Release/holdfast_gf.node, erasure coding; build/Release/holdfast_merkle.node, Merkle roots) with
 * the node-gyp that comes with npm. Without a C toolchain (python3, make, a C compiler) or the Node headers
 * the build fails, and this script says so in one line and exits 0: Holdfast then runs its JavaScript
 * kernels, which give the same bytes more slowly (`holdfast doctor` shows which kernels run).
 *
 * HOLDFAST_NO_NATIVE_BUILD=1 skips the build. node-gyp's output goes to build/install-native.log.
 * Plain CommonJS with no dependencies: it runs before dist/ is compiled (`prepare` comes after it).
 */
'use strict'
const { spawnSync } = require('node:child_process')
const { existsSync, mkdirSync, writeFileSync } = require('node:fs')
const path = require('node:path')

const root = path.resolve(__dirname, '..')
const log = path.join(root, 'build', 'install-native.log')
const FALLBACK = 'the JavaScript kernels will be used; see holdfast doctor'

/** npm's own node-gyp: npm names it to scripts in npm_config_node_gyp; else beside npm-cli.js, else beside node. */
function findNodeGyp () {
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath != null
      ? path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
      : undefined,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')
  ]
  return candidates.find(c => c != null && c !== '' && existsSync(c))
}

function main () {
  if (process.env.HOLDFAST_NO_NATIVE_BUILD === '1') {
    console.log(`holdfast: native kernels not built (HOLDFAST_NO_NATIVE_BUILD=1): ${FALLBACK}`)
    return
  }
  const nodeGyp = findNodeGyp()
  if (nodeGyp == null) {
    console.log(`holdfast: native kernels not built (node-gyp not found beside npm): ${FALLBACK}`)
    return
  }
  const run = spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  // `rebuild` removes build/ first, so the log is written after it
  mkdirSync(path.dirname(log), { recursive: true })
  writeFileSync(log, `${run.stdout ?? ''}${run.stderr ?? ''}${run.error != null ? String(run.error) + '\n' : ''}`)
  const built = ['holdfast_gf.node', 'holdfast_merkle.node'].every(f => existsSync(path.join(root, 'build', 'Release', f)))
  if (run.status === 0 && built) {
    console.log('holdfast: native kernels built (build/Release/holdfast_gf.node, holdfast_merkle.node)')
  } else {
    console.log(`holdfast: native kernels not built (no C toolchain?): ${FALLBACK} (node-gyp's output: ${path.relative(root, log)})`)
  }
}

main()
