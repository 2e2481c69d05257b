/**
 * Browsing over a stub repository (no stores, no keys): a file's bytes by range across chunk
 * boundaries, a chunk of the wrong size refused, a folder's zip, search bounds and memo, a file's
 * versions; the SnapshotBrowser's open repository kept while used, closed when idle and on close.
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { unzipSync } from 'fflate'
import type { Repository } from '../../src/repository/repository.js'
import type { SnapshotRecord, Tree, TreeNode } from '../../src/format/format.js'
import { fileBytes, fileVersions, nameMatcher, searchSnapshots, zipFolder } from '../../src/browse/index.js'
import { SnapshotBrowser } from '../../src/daemon/snapshot-browser.js'
import type { RestoreJobs } from '../../src/daemon/restore-jobs.js'

/** A repository of chunks and trees in memory, enough for the browse functions. */
function stubRepo (chunks: Map<string, Buffer>, trees: Map<string, Tree>): Repository & { treeReads: number } {
  const stub = {
    treeReads: 0,
    register: { blobs: new Map([...chunks].map(([id, b]) => [id, { rawLength: b.length }])) },
    loadBlob: async (id: string) => chunks.get(id)!,
    loadTree: async (id: string) => { stub.treeReads++; return trees.get(id)! }
  }
  return stub as unknown as Repository & { treeReads: number }
}

const node = (name: string, type: TreeNode['type'], extra: Partial<TreeNode> = {}): TreeNode => ({ name, type, mode: 0o644, mtime: '1764943391000000000', uid: 0, gid: 0, inode: 1, size: 0, ...extra })
const snap = (tree: string, time: string): { name: string, snapshot: SnapshotRecord } => ({ name: `${tree}${'0'.repeat(60)}`, snapshot: { v: 1, time, hostname: 'h', username: 'u', paths: ['/d'], tree, partial: false, summary: {} as SnapshotRecord['summary'] } })

describe('browse over a stub repository', function () {
  const a = Buffer.from('0123456789')
  const b = Buffer.from('abcdefghij')
  const c = Buffer.from('KLMNO')
  const chunks = new Map([['a', a], ['b', b], ['c', c]])
  const file = node('f.txt', 'file', { size: 25, content: ['a', 'b', 'c'] })
  const trees = new Map<string, Tree>([
    ['root1', { v: 1, nodes: [node('d', 'dir', { subtree: 'd1' })] }],
    ['d1', { v: 1, nodes: [file, node('sub', 'dir', { subtree: 's1' }), node('link', 'symlink', { target: 'f.txt' })] }],
    ['s1', { v: 1, nodes: [node('g.txt', 'file', { size: 5, content: ['c'] })] }],
    ['root2', { v: 1, nodes: [node('d', 'dir', { subtree: 'd2' })] }],
    ['d2', { v: 1, nodes: [node('f.txt', 'file', { size: 10, content: ['a'] }), node('sub', 'dir', { subtree: 's1' })] }]
  ])
  const all = async (gen: AsyncGenerator<Uint8Array>): Promise<string> => { let s = ''; for await (const x of gen) s += Buffer.from(x).toString(); return s }

  it('gives a file\'s bytes, whole or by range across chunk boundaries', async function () {
    const repo = stubRepo(chunks, trees)
    assert.equal(await all(fileBytes(repo, file)), '0123456789abcdefghijKLMNO')
    assert.equal(await all(fileBytes(repo, file, { start: 8, end: 12 })), '89ab')
    assert.equal(await all(fileBytes(repo, file, { start: 20, end: 25 })), 'KLMNO')
    assert.equal(await all(fileBytes(repo, file, { start: 24 })), 'O')
    assert.equal(await all(fileBytes(repo, file, { start: 3, end: 3 })), '')
  })

  it('refuses a file whose chunks do not add up, and a chunk of the wrong size', async function () {
    const repo = stubRepo(chunks, trees)
    await assert.rejects(all(fileBytes(repo, { ...file, size: 26 })), { name: 'IntegrityError' })
    const lying = { ...repo, loadBlob: async () => Buffer.from('short') } as unknown as Repository
    await assert.rejects(all(fileBytes(lying, file)), { name: 'IntegrityError' })
  })

  it('zips a folder: files with their bytes, folders as entries, symlinks left out', async function () {
    const repo = stubRepo(chunks, trees)
    const parts: Uint8Array[] = []
    for await (const p of zipFolder(repo, trees.get('d1')!, 'd')) parts.push(p)
    const entries = unzipSync(new Uint8Array(Buffer.concat(parts)))
    assert.deepEqual(Object.keys(entries).sort(), ['d/f.txt', 'd/sub/', 'd/sub/g.txt'])
    assert.equal(Buffer.from(entries['d/f.txt']).toString(), '0123456789abcdefghijKLMNO')
    assert.equal(Buffer.from(entries['d/sub/g.txt']).toString(), 'KLMNO')
  })

  it('searches newest first, reads a shared subtree once, stops at its limit', async function () {
    const repo = stubRepo(chunks, trees)
    const snaps = [snap('root2', '2026-02-01T00:00:00Z'), snap('root1', '2026-01-01T00:00:00Z')]
    const r = await searchSnapshots(repo, snaps, nameMatcher('*.txt'))
    assert.deepEqual(r.hits.map(h => `${h.snapshot.slice(0, 5)} ${h.path}`), ['root2 /d/f.txt', 'root2 /d/sub/g.txt', 'root1 /d/f.txt', 'root1 /d/sub/g.txt'])
    assert.equal(r.truncated, false)
    assert.equal(repo.treeReads, 5, 'root2, d2, s1, root1, d1: s1 once')
    const few = await searchSnapshots(repo, snaps, nameMatcher('txt'), { limit: 3 })
    assert.equal(few.hits.length, 3)
    assert.equal(few.truncated, true)
    const bounded = await searchSnapshots(stubRepo(chunks, trees), snaps, nameMatcher('txt'), { maxTrees: 2 })
    assert.equal(bounded.truncated, true)
  })

  it('lists a file\'s versions and whether its content changed', async function () {
    const repo = stubRepo(chunks, trees)
    const snaps = [snap('root2', '2026-02-01T00:00:00Z'), snap('root1', '2026-01-01T00:00:00Z')]
    assert.deepEqual((await fileVersions(repo, snaps, '/d/f.txt')).map(v => [v.size, v.changed]), [[10, true], [25, true]])
    assert.deepEqual((await fileVersions(repo, snaps, '/d/sub/g.txt')).map(v => v.changed), [false, true])
    assert.deepEqual(await fileVersions(repo, snaps, '/d/nope'), [])
  })
})

describe('SnapshotBrowser: its open repository', function () {
  const make = (locked = { now: false }): { browser: SnapshotBrowser, opened: () => number, closed: () => number } => {
    let opened = 0
    let closed = 0
    const browser = new SnapshotBrowser({
      open: async () => { opened++; return { register: { snapshots: async () => [] }, close: async () => { closed++ } } as unknown as Repository },
      check: async () => { if (locked.now) throw Object.assign(new Error('locked'), { name: 'PassphraseNeededError' }) },
      setOf: async () => new Map(),
      restores: {} as RestoreJobs,
      idleMs: 30
    })
    return { browser, opened: () => opened, closed: () => closed }
  }

  it('is opened once for calls close together, closed when idle, opened again after', async function () {
    const { browser, opened, closed } = make()
    await Promise.all([browser.snapshots(), browser.snapshots(), browser.snapshots()])
    assert.equal(opened(), 1)
    await sleep(80)
    assert.equal(closed(), 1)
    await browser.snapshots()
    assert.equal(opened(), 2)
    await browser.close()
    await browser.close()
    assert.equal(closed(), 2, 'closing twice is harmless')
  })

  it('is not opened, and is closed, when the daemon holds no passphrase', async function () {
    const locked = { now: false }
    const { browser, opened, closed } = make(locked)
    await browser.snapshots()
    locked.now = true
    await assert.rejects(browser.snapshots(), { name: 'PassphraseNeededError' })
    assert.equal(opened(), 1)
    assert.equal(closed(), 1)
    await browser.close()
  })
})
