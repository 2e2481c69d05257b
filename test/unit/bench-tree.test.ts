import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compareBigTrees } from '../../scripts/lib/big-tree-compare.js'
import { measureDiskFloor } from '../../scripts/lib/disk-floor.js'
import { fileContent, fileMeta, GENERATOR_VERSION, MAX_FILE_SIZE, treeLayout, type TreeSpec } from '../../scripts/lib/seeded-tree.js'
import { ensureTree } from '../../scripts/lib/seeded-tree-writer.js'

// The benchmarks' helpers (npm run bench:scale): what they produce, never how fast.
const SPEC: TreeSpec = { seed: 7, files: 700 }
// Guards the generator's output for seed 1: a change here needs a new GENERATOR_VERSION, or trees
// written by the old code would be reused as if they were the new ones.
const FINGERPRINT_SEED_1 = '4191c8de1263855ac419b89134f7419f7c0c468c672dd1464443e78559559026'

function fingerprint (spec: TreeSpec): string {
  const h = createHash('sha256')
  for (const leaf of treeLayout(spec).leaves) {
    h.update(leaf.path)
    for (let n = 0; n < leaf.count; n++) {
      const m = fileMeta(spec, leaf.first + n, n)
      h.update(`${m.name} ${m.mode} ${m.mtime} ${m.contentOf}`).update(fileContent(spec.seed, m.contentOf))
    }
  }
  return h.digest('hex')
}

describe('benchmark trees (scripts/lib)', function () {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'holdfast-bench-tree-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('lays out every file once, in directories of at most 200 files', () => {
    const layout = treeLayout({ seed: 1, files: 20_000 })
    assert.equal(layout.leaves.reduce((s, l) => s + l.count, 0), 20_000)
    for (const [i, l] of layout.leaves.entries()) {
      assert.ok(l.count <= 200 && (l.count >= 50 || i === layout.leaves.length - 1))
      if (i > 0) assert.equal(l.first, layout.leaves[i - 1].first + layout.leaves[i - 1].count)
    }
    assert.equal(new Set(layout.leaves.map(l => l.path)).size, layout.leaves.length)
  })

  it('gives the same files for the same seed, and keeps its output for seed 1', () => {
    assert.equal(fingerprint(SPEC), fingerprint({ ...SPEC }))
    assert.notEqual(fingerprint(SPEC), fingerprint({ ...SPEC, seed: 8 }))
    assert.equal(fingerprint({ seed: 1, files: 2000 }), FINGERPRINT_SEED_1, `generator ${GENERATOR_VERSION} changed its output`)
  })

  it('spreads sizes from empty to 20 KiB around 1.5 KB, with some duplicates', () => {
    const spec = { seed: 1, files: 20_000 }
    let bytes = 0
    let duplicates = 0
    let largest = 0
    let empty = 0
    for (let i = 0; i < spec.files; i++) {
      const m = fileMeta(spec, i, 0)
      const size = fileContent(spec.seed, m.contentOf).length
      bytes += size
      largest = Math.max(largest, size)
      if (size === 0) empty++
      if (m.contentOf !== i) { duplicates++; assert.ok(m.contentOf < i) }
    }
    assert.ok(bytes / spec.files > 1300 && bytes / spec.files < 1700, `mean ${bytes / spec.files}`)
    assert.equal(largest, MAX_FILE_SIZE)
    assert.ok(empty > 0 && duplicates > 500 && duplicates < 1500)
  })

  it('writes a tree once and reuses it while its marker matches', async () => {
    const tree = join(dir, 'tree')
    const first = await ensureTree(tree, SPEC, { threads: 2 })
    assert.equal(first.reused, false)
    assert.equal(first.files, SPEC.files)
    assert.equal((await ensureTree(tree, SPEC)).reused, true)
    const other = join(dir, 'other')
    await ensureTree(other, SPEC, { threads: 3 })
    assert.deepEqual(await compareBigTrees(tree, other), [], 'the thread count changes nothing')
    const reseeded = await ensureTree(tree, { ...SPEC, seed: 8 })
    assert.equal(reseeded.reused, false)
    assert.notDeepEqual(await compareBigTrees(tree, other), [])
  })

  it('compareBigTrees finds changed bytes, modes, mtimes, missing and extra files', async () => {
    const a = join(dir, 'a')
    const b = join(dir, 'b')
    await ensureTree(a, SPEC)
    await ensureTree(b, SPEC)
    assert.deepEqual(await compareBigTrees(a, b), [])
    const leaf = treeLayout(SPEC).leaves[0]
    const names = [0, 1, 2, 3].map(n => join(leaf.path, fileMeta(SPEC, leaf.first + n, n).name))
    const content = await readFile(join(b, names[0]))
    content[0] ^= 1
    await writeFile(join(b, names[0]), content)
    const t0 = fileMeta(SPEC, leaf.first, 0).mtime
    await utimes(join(b, names[0]), t0, t0)
    await chmod(join(b, names[1]), 0o640)
    await utimes(join(b, names[2]), 1, 1)
    await rm(join(b, names[3]))
    await writeFile(join(b, leaf.path, 'extra'), 'x')
    const diffs = await compareBigTrees(a, b)
    const changed = diffs.filter(d => !d.includes('mtime 2025')) // writing into the leaf changed its own mtime
    assert.deepEqual(changed.sort(), [
      `${names[0]}: content differs`,
      `${names[1]}: mode ${(fileMeta(SPEC, leaf.first + 1, 1).mode).toString(8)} became 640`,
      `${names[2]}: mtime ${new Date(fileMeta(SPEC, leaf.first + 2, 2).mtime * 1000).toISOString()} became 1970-01-01T00:00:01.000Z`,
      `${names[3]}: missing in restore`,
      `${join(leaf.path, 'extra')}: extra in restore`
    ].sort())
  })

  it('the disk floor writes the same bytes', async () => {
    const tree = join(dir, 'tree')
    await ensureTree(tree, SPEC)
    let before = 0
    const r = await measureDiskFloor(tree, join(dir, 'floor'), { threads: 2, beforeWrite: async () => { before++ } })
    assert.equal(before, 1)
    assert.equal(r.files, SPEC.files)
    const diffs = await compareBigTrees(tree, join(dir, 'floor'), { mtimes: false })
    assert.deepEqual(diffs.filter(d => !d.includes(': mode ')), [], 'only modes differ (the floor sets none)')
  })
})
