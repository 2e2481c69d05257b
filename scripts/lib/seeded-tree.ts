/**
 * A tree of many small files, generated deterministically from a seed: the same seed and file count give
 * the same names, contents, modes and mtimes on any machine (a fast non-cryptographic PRNG, xoshiro128**
 * seeded through splitmix32, never crypto-random). Used by `npm run bench:scale`.
 *
 * Shape: the root holds level-1 directories of 50-100 leaf directories each; a leaf directory holds 50-200
 * files (the last one fewer). Sizes are log-normal (median about 720 bytes, mean about 1.5 KB, 1 byte to
 * 20 KiB, one file in 200 empty); half the contents are text from a seeded vocabulary (compresses), half
 * PRNG bytes (does not); one file in 20 repeats the content of an earlier file; modes are 0644, 0755
 * (one in 20) or 0600 (one in 50); mtimes are whole seconds in 2020-2024.
 *
 * Everything about file number i is a pure function of (seed, i): any file can be written, or checked, in
 * any order on any thread. This module is pure; seeded-tree-writer.ts writes a tree to disk.
 */
export const GENERATOR_VERSION = 1

export interface TreeSpec { seed: number, files: number }

/** A directory of files: its path relative to the root, and the numbers of its files. */
export interface LeafDir { path: string, first: number, count: number }

export interface TreeLayout {
  /** the level-1 directories (relative paths), in order */
  parents: string[]
  leaves: LeafDir[]
}

export interface FileMeta {
  /** the file's name in its directory */
  name: string
  /** whose content it has: its own number, or an earlier file's (a duplicate) */
  contentOf: number
  mode: number
  /** seconds since the epoch */
  mtime: number
}

export const MAX_FILE_SIZE = 20 * 1024
const MTIME_BASE = Date.UTC(2020, 0, 1) / 1000
const MTIME_SPAN = 5 * 365 * 86400
/** the mtime of every directory (set after the files are written) */
export const DIR_MTIME = Date.UTC(2025, 0, 1) / 1000
const LOG_MEDIAN = Math.log(722)
const LOG_SIGMA = 1.25

/** PRNG streams: one per purpose, so that changing one never shifts another. */
const LAYOUT = 1
const META = 2
const CONTENT = 3
const VOCAB = 4

function mix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x7feb352d)
  x ^= x >>> 15
  x = Math.imul(x, 0x846ca68b)
  x ^= x >>> 16
  return x >>> 0
}

/** xoshiro128** (Blackman and Vigna), its state filled by splitmix32 from (seed, stream, index). */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number, stream: number, index: number) {
    let s = mix32(mix32(mix32(seed >>> 0) ^ Math.imul(stream, 0x9e3779b9)) ^ (index >>> 0))
    const next = (): number => { s = (s + 0x9e3779b9) >>> 0; return mix32(s) }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next() | 1
  }

  /** 32 random bits, unsigned */
  next (): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return r
  }

  /** uniform in [0, 1) */
  float (): number { return this.next() / 4294967296 }

  /** uniform integer in [0, n) */
  int (n: number): number { return Math.floor(this.float() * n) }

  /** standard normal (Box-Muller) */
  normal (): number {
    const u = 1 - this.float()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float())
  }
}

function rotl (x: number, k: number): number { return (x << k) | (x >>> (32 - k)) }

/** The directories and which files each leaf holds. */
export function treeLayout (spec: TreeSpec): TreeLayout {
  const rng = new Rng(spec.seed, LAYOUT, 0)
  const words = vocabulary(spec.seed)
  const parents: string[] = []
  const leaves: LeafDir[] = []
  let placed = 0
  while (placed < spec.files) {
    const parent = `${words[rng.int(words.length)]}-${parents.length}`
    parents.push(parent)
    const fanout = 50 + rng.int(51)
    for (let j = 0; j < fanout && placed < spec.files; j++) {
      const count = Math.min(50 + rng.int(151), spec.files - placed)
      leaves.push({ path: `${parent}/${words[rng.int(words.length)]}-${j}`, first: placed, count })
      placed += count
    }
  }
  return { parents, leaves }
}

const TEXT_EXT = ['txt', 'md', 'json', 'c', 'h', 'py', 'ts', 'html', 'css', 'xml', 'csv', 'log', 'conf', 'yaml']
const BINARY_EXT = ['png', 'jpg', 'bin', 'dat', 'gz', 'pdf', 'o', 'pyc', 'woff2', 'sqlite']

/** File number `i`'s name (given its place `n` in its directory), mode, mtime and whose content it has. */
export function fileMeta (spec: TreeSpec, i: number, n: number): FileMeta {
  const rng = new Rng(spec.seed, META, i)
  const duplicate = i > 0 && rng.float() < 0.05
  const source = rng.int(i)
  const r = rng.float()
  const mode = r < 0.05 ? 0o755 : r < 0.07 ? 0o600 : 0o644
  const mtime = MTIME_BASE + rng.int(MTIME_SPAN)
  const contentOf = duplicate ? contentOwner(spec, source) : i
  const words = vocabulary(spec.seed)
  const ext = isText(spec.seed, contentOf) ? TEXT_EXT[rng.int(TEXT_EXT.length)] : BINARY_EXT[rng.int(BINARY_EXT.length)]
  return { name: `${words[rng.int(words.length)]}-${String(n).padStart(3, '0')}.${ext}`, contentOf, mode, mtime }
}

/** The file whose content file `i` has (itself unless it is a duplicate), following duplicates of duplicates. */
function contentOwner (spec: TreeSpec, i: number): number {
  for (;;) {
    const rng = new Rng(spec.seed, META, i)
    if (!(i > 0 && rng.float() < 0.05)) return i
    i = rng.int(i)
  }
}

/** The size of the content of file `key` (its own content, before any duplicate points at it). */
export function contentSize (seed: number, key: number): number {
  const rng = new Rng(seed, CONTENT, key)
  if (rng.float() < 0.005) return 0
  return Math.max(1, Math.min(MAX_FILE_SIZE, Math.round(Math.exp(LOG_MEDIAN + LOG_SIGMA * rng.normal()))))
}

function isText (seed: number, key: number): boolean {
  return (new Rng(seed, CONTENT, key ^ 0x80000000).next() & 1) === 0
}

/** The bytes of content `key` (a file's `contentOf`). */
export function fileContent (seed: number, key: number): Buffer {
  const size = contentSize(seed, key)
  const rng = new Rng(seed, CONTENT, key ^ 0x40000000)
  if (!isText(seed, key)) {
    const words = new Uint32Array(Math.ceil(size / 4))
    for (let w = 0; w < words.length; w++) words[w] = rng.next()
    return Buffer.from(words.buffer, 0, size)
  }
  const vocab = vocabularyBytes(seed)
  const out = Buffer.allocUnsafe(size)
  let at = 0
  let inLine = 0
  while (at < size) {
    const word = vocab[rng.int(vocab.length)]
    at += word.copy(out, at)
    if (at < size) out[at++] = ++inLine % 12 === 0 ? 0x0a : 0x20
  }
  return out
}

const vocabularies = new Map<number, { words: string[], bytes: Buffer[] }>()

function vocabularyOf (seed: number): { words: string[], bytes: Buffer[] } {
  let v = vocabularies.get(seed)
  if (v == null) {
    const rng = new Rng(seed, VOCAB, 0)
    const words: string[] = []
    for (let i = 0; i < 2048; i++) {
      let w = ''
      const length = 2 + rng.int(8)
      for (let c = 0; c < length; c++) w += String.fromCharCode(97 + rng.int(26))
      words.push(w)
    }
    v = { words, bytes: words.map(w => Buffer.from(w)) }
    vocabularies.set(seed, v)
  }
  return v
}

function vocabulary (seed: number): string[] { return vocabularyOf(seed).words }
function vocabularyBytes (seed: number): Buffer[] { return vocabularyOf(seed).bytes }
