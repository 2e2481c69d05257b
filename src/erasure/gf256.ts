/**
 * Arithmetic in GF(2^8) with the reducing polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), the field of the
 * Cauchy Reed-Solomon codec. Addition is XOR; multiplication goes through exp/log tables over the
 * generator 2, which is primitive for 0x11d. Pure computation, no I/O.
 *
 * `mulAddJs` is the portable kernel (the native addon in ./native computes the same bytes faster); the
 * rest is what the codec needs to build and invert its matrices. Matrices are row-major Uint8Arrays.
 */

/** The reducing polynomial, bit 8 included. */
export const POLYNOMIAL = 0x11d

/** EXP[i] = 2^i for i in [0, 510]: doubled, so EXP[LOG[a] + LOG[b]] needs no reduction mod 255. */
export const EXP = new Uint8Array(512)
/** LOG[a] = i with 2^i = a, for a in [1, 255]. LOG[0] is meaningless (0 has no logarithm). */
export const LOG = new Uint8Array(256)

{
  let x = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = x
    LOG[x] = i
    x <<= 1
    if ((x & 0x100) !== 0) x ^= POLYNOMIAL
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]
}

/** MUL_TABLE[a * 256 + b] = a * b: the 256-byte row of a coefficient is a ready lookup table. */
const MUL_TABLE = new Uint8Array(256 * 256)
for (let a = 1; a < 256; a++) {
  for (let b = 1; b < 256; b++) MUL_TABLE[a * 256 + b] = EXP[LOG[a] + LOG[b]]
}

/** a * b in GF(2^8). */
export function mul (a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]
}

/** The multiplicative inverse of a; throws RangeError for 0. */
export function inv (a: number): number {
  if (a === 0) throw new RangeError('0 has no inverse in GF(2^8)')
  return EXP[255 - LOG[a]]
}

/** a / b in GF(2^8); throws RangeError for b = 0. */
export function div (a: number, b: number): number {
  if (b === 0) throw new RangeError('division by 0 in GF(2^8)')
  return a === 0 ? 0 : EXP[LOG[a] + 255 - LOG[b]]
}

/**
 * The m x k parity rows of a systematic Cauchy generator: row i, column j is 1 / (x_i + y_j) with
 * x_i = k + i and y_j = j. The k + m field elements 0 .. k+m-1 are distinct, so x_i + y_j (XOR) is never
 * 0, and every square submatrix of a Cauchy matrix is nonsingular; stacked under the k x k identity this
 * makes every k rows of the (k + m) x k generator invertible (MDS): any k shards give the data back.
 *
 * These numbers define the parity bytes written to stores: changing x, y or the polynomial needs a new
 * codec name.
 */
export function cauchyMatrix (k: number, m: number): Uint8Array {
  if (!Number.isInteger(k) || !Number.isInteger(m) || k < 1 || m < 0 || k + m > 256) {
    throw new RangeError(`a Cauchy matrix needs k >= 1, m >= 0 and k + m <= 256, got k=${k} m=${m}`)
  }
  const out = new Uint8Array(m * k)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) out[i * k + j] = inv((k + i) ^ j)
  }
  return out
}

/** The inverse of the n x n matrix `a` (left untouched), by Gauss-Jordan elimination; throws RangeError if singular. */
export function invertMatrix (a: Uint8Array, n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || a.length < n * n) {
    throw new RangeError(`invertMatrix needs an n x n matrix, got ${a.length} elements for n=${n}`)
  }
  const work = a.slice(0, n * n)
  const out = new Uint8Array(n * n)
  for (let i = 0; i < n; i++) out[i * n + i] = 1
  for (let col = 0; col < n; col++) {
    // Find a pivot at or below the diagonal and swap it up.
    let pivot = col
    while (pivot < n && work[pivot * n + col] === 0) pivot++
    if (pivot === n) throw new RangeError('matrix is singular')
    if (pivot !== col) {
      swapRows(work, n, pivot, col)
      swapRows(out, n, pivot, col)
    }
    // Scale the pivot row to a leading 1.
    const scale = inv(work[col * n + col])
    if (scale !== 1) {
      scaleRow(work, n, col, scale)
      scaleRow(out, n, col, scale)
    }
    // Clear the column in every other row.
    for (let row = 0; row < n; row++) {
      const factor = work[row * n + col]
      if (row === col || factor === 0) continue
      addScaledRow(work, n, row, col, factor)
      addScaledRow(out, n, row, col, factor)
    }
  }
  return out
}

/** The product a (r x n) times b (n x c), as an r x c matrix. */
export function multiplyMatrices (a: Uint8Array, b: Uint8Array, r: number, n: number, c: number): Uint8Array {
  const out = new Uint8Array(r * c)
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      let sum = 0
      for (let t = 0; t < n; t++) sum ^= mul(a[i * n + t], b[t * c + j])
      out[i * c + j] = sum
    }
  }
  return out
}

function swapRows (m: Uint8Array, n: number, a: number, b: number): void {
  for (let j = 0; j < n; j++) {
    const t = m[a * n + j]
    m[a * n + j] = m[b * n + j]
    m[b * n + j] = t
  }
}

function scaleRow (m: Uint8Array, n: number, row: number, factor: number): void {
  for (let j = 0; j < n; j++) m[row * n + j] = mul(m[row * n + j], factor)
}

/** row `dst` += factor * row `src`. */
function addScaledRow (m: Uint8Array, n: number, dst: number, src: number, factor: number): void {
  for (let j = 0; j < n; j++) m[dst * n + j] ^= mul(m[src * n + j], factor)
}

/**
 * Checks the arguments of a mulAdd call as the native kernel does, so both reject the same calls: sizes,
 * array lengths, buffer lengths, and that no written buffer (output or copy) overlaps any other buffer.
 */
export function checkMulAddArgs (coeffs: Uint8Array, rows: number, cols: number, sources: Uint8Array[],
  outputs: Uint8Array[], length: number, copies?: Uint8Array[] | null): void {
  if (!(coeffs instanceof Uint8Array)) throw new TypeError('coeffs must be a Uint8Array')
  for (const [name, value, max] of [['rows', rows, 256], ['cols', cols, 256], ['length', length, Number.MAX_SAFE_INTEGER]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${value}`)
    }
  }
  if (coeffs.length < rows * cols) throw new RangeError(`coeffs has ${coeffs.length} elements, need ${rows * cols}`)
  if (!Array.isArray(sources) || sources.length !== cols) throw new RangeError(`sources must be an array of ${cols} Uint8Arrays`)
  if (!Array.isArray(outputs) || outputs.length !== rows) throw new RangeError(`outputs must be an array of ${rows} Uint8Arrays`)
  const copyList = copies ?? []
  if (!Array.isArray(copyList) || copyList.length > cols) {
    throw new RangeError(`copies must be an array of at most ${cols} Uint8Arrays`)
  }
  const check = (array: Uint8Array[], name: string): void => {
    array.forEach((a, i) => {
      if (!(a instanceof Uint8Array)) throw new TypeError(`${name}[${i}] must be a Uint8Array`)
      if (a.length < length) throw new RangeError(`${name}[${i}] has ${a.length} bytes, need ${length}`)
    })
  }
  check(sources, 'sources')
  check(outputs, 'outputs')
  check(copyList, 'copies')
  if (length === 0) return
  const overlaps = (a: Uint8Array, b: Uint8Array): boolean =>
    a.buffer === b.buffer && a.byteOffset < b.byteOffset + length && b.byteOffset < a.byteOffset + length
  const disjoint = (written: Uint8Array[], writtenName: string, read: Uint8Array[], readName: string, pairwise: boolean): void => {
    written.forEach((w, i) => {
      read.forEach((r, j) => {
        if ((!pairwise || j < i) && overlaps(w, r)) throw new RangeError(`${writtenName}[${i}] overlaps ${readName}[${j}]`)
      })
    })
  }
  disjoint(outputs, 'outputs', sources, 'sources', false)
  disjoint(copyList, 'copies', sources, 'sources', false)
  disjoint(copyList, 'copies', outputs, 'outputs', false)
  disjoint(outputs, 'outputs', outputs, 'outputs', true)
  disjoint(copyList, 'copies', copyList, 'copies', true)
}

/**
 * outputs[r][0 .. length) = XOR over c of coeffs[r * cols + c] * sources[c][i]. Outputs are overwritten,
 * not accumulated into; with no sources they are zeroed. `copies`, when given (at most cols buffers),
 * receive copies[c][0 .. length) = sources[c][0 .. length): the native kernel writes them in the same
 * pass over the sources. Portable and slow (one table lookup per byte and coefficient): the fallback when
 * the native kernel cannot be loaded.
 */
export function mulAddJs (coeffs: Uint8Array, rows: number, cols: number, sources: Uint8Array[],
  outputs: Uint8Array[], length: number, copies?: Uint8Array[] | null): void {
  checkMulAddArgs(coeffs, rows, cols, sources, outputs, length, copies)
  copies?.forEach((copy, c) => copy.set(sources[c].subarray(0, length)))
  for (let r = 0; r < rows; r++) {
    const out = outputs[r]
    out.fill(0, 0, length)
    for (let c = 0; c < cols; c++) {
      const coef = coeffs[r * cols + c]
      if (coef === 0) continue
      const src = sources[c]
      if (coef === 1) {
        for (let i = 0; i < length; i++) out[i] ^= src[i]
      } else {
        const table = MUL_TABLE.subarray(coef * 256, coef * 256 + 256)
        for (let i = 0; i < length; i++) out[i] ^= table[src[i]]
      }
    }
  }
}
