/**
 * Builds the dashboard (src/web/ui, Preact + TSX) into dist/web/: app.js (one ES module, minified),
 * app.css and index.html, served by the daemon at / and /assets/, and openapi.json, the REST API's
 * document (served at /api/v1/openapi.json). Run by `npm run build`.
 */
import { build } from 'esbuild'
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { API_SPEC, openApiDocument } from '../src/web/api-spec.js'
import { VERSION } from '../src/version.js'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ui = join(root, 'src', 'web', 'ui')
const out = join(root, 'dist', 'web')

await mkdir(out, { recursive: true })
const result = await build({
  entryPoints: [join(ui, 'main.tsx')],
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  outfile: join(out, 'app.js'),
  metafile: true,
  logLevel: 'warning'
})
await copyFile(join(ui, 'app.css'), join(out, 'app.css'))
await copyFile(join(ui, 'index.html'), join(out, 'index.html'))
// the REST API's OpenAPI document, from the routes' schemas (TypeBox stays out of the daemon)
await writeFile(join(out, 'openapi.json'), JSON.stringify(openApiDocument(API_SPEC, VERSION), null, 2) + '\n')
const size = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
process.stdout.write(`dashboard built in dist/web (${(size / 1024).toFixed(1)} KiB of JavaScript)\n`)
