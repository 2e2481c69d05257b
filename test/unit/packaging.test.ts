/**
 * What an install without the dev packages runs: the container image (`npm prune --omit=dev`), and any
 * `npm ci --omit=dev`. Every package the shipped code imports must be a dependency, not a dev dependency:
 * a dev one is gone there, and the daemon dies at start with ERR_MODULE_NOT_FOUND.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** The bare package names a compiled ES module imports (static, re-exported or dynamic), builtins left out. */
export function importedPackages (source: string): string[] {
  const names = new Set<string>()
  // `from` and `import` as keywords: not a method such as Buffer.from('...'); a package name has no spaces
  // and require('x') or createRequire(import.meta.url)('x'): a package loaded through createRequire
  const specs = [
    ...source.matchAll(/(?<![.\w$])(?:from|import|require)\s*\(?\s*['"]([^'"\s]+)['"]/g),
    ...source.matchAll(/\bcreateRequire\([^)]*\)\s*\(\s*['"]([^'"\s]+)['"]/g)
  ]
  for (const m of specs) {
    const spec = m[1]
    if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0])) continue
    names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])
  }
  return [...names]
}

async function jsFiles (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter(e => e.isFile() && e.name.endsWith('.js')).map(e => join(e.parentPath, e.name))
}

describe('packaging: the shipped code imports only runtime dependencies', () => {
  it('reads static, re-exported and dynamic imports, and leaves out builtins and relative paths', () => {
    const source = "import { a } from 'typebox/value'\nconst h = Buffer.from('holdfast-pack')\nexport * from '@libp2p/tcp/x'\nimport 'side-effect'\nconst z = await import('zstd-napi')\nconst n = require('napi-thing')\nconst o = createRequire(import.meta.url)('other-addon')\nimport { join } from 'node:path'\nimport fs from 'fs'\nimport { b } from './b.js'"
    assert.deepEqual(importedPackages(source).sort(), ['@libp2p/tcp', 'napi-thing', 'other-addon', 'side-effect', 'typebox', 'zstd-napi'])
  })

  it('every package imported by dist/src is in dependencies or optionalDependencies', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>, optionalDependencies?: Record<string, string>, devDependencies: Record<string, string> }
    const runtime = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})])
    const missing = new Map<string, string[]>()
    const seen = new Set<string>()
    for (const file of await jsFiles(join(ROOT, 'dist', 'src'))) {
      for (const name of importedPackages(await readFile(file, 'utf8'))) {
        seen.add(name)
        if (!runtime.has(name)) missing.set(name, [...(missing.get(name) ?? []), file.slice(ROOT.length)])
      }
    }
    // the scan found the imports at all (a regular expression that matched nothing would pass)
    for (const name of ['libp2p', 'level', 'hono', 'zstd-napi']) assert.ok(seen.has(name), `the scan saw ${name}`)
    assert.deepEqual(Object.fromEntries(missing), {}, 'imported by the shipped code but not a runtime dependency')
  })
})
