/**
 * One gitignore-style pattern (gitignore(5)), compiled to a regular expression over a path relative to
 * the pattern's base directory, with '/' separators.
 */
export interface IgnorePattern {
  source: string
  negated: boolean
  /** Matches directories only (the pattern ended with '/'). */
  dirOnly: boolean
  regex: RegExp
}

export interface CompileOptions {
  /**
   * git anchors a pattern with a '/' at its start or middle to the base directory; restic-style exclude
   * patterns anchor only those starting with '/'. Default true (git).
   */
  anchorMiddle?: boolean
}

/** Compiles one line; undefined for blank lines and comments. */
export function compilePattern (line: string, options: CompileOptions = {}): IgnorePattern | undefined {
  let p = line.replace(/\r$/, '')
  // trailing spaces are ignored unless escaped
  p = p.replace(/(?<!\\)\s+$/, '')
  if (p === '' || p.startsWith('#')) return undefined
  let negated = false
  if (p.startsWith('!')) { negated = true; p = p.slice(1) } else if (p.startsWith('\\!') || p.startsWith('\\#')) p = p.slice(1)
  let dirOnly = false
  if (p.endsWith('/') && !p.endsWith('\\/')) { dirOnly = true; p = p.replace(/\/+$/, '') }
  if (p === '') return undefined
  const leading = p.startsWith('/')
  if (leading) p = p.replace(/^\/+/, '')
  const anchored = leading || ((options.anchorMiddle ?? true) && p.includes('/'))
  let body = translate(p)
  if (!anchored && !body.startsWith('(?:.*/)?')) body = '(?:.*/)?' + body
  return { source: line, negated, dirOnly, regex: new RegExp(`^${body}$`) }
}

function translate (p: string): string {
  let out = ''
  let i = 0
  while (i < p.length) {
    const c = p[i]
    if (c === '*' && p[i + 1] === '*' && (i === 0 || p[i - 1] === '/') && (i + 2 === p.length || p[i + 2] === '/')) {
      if (i + 2 === p.length) {
        // a lone '**': everything; a trailing '/**': everything inside (not the directory itself)
        out += i === 0 ? '.*' : '.+'
        i += 2
      } else {
        // '**/' at the start or in the middle: zero or more directories
        out += '(?:.*/)?'
        i += 3
      }
      continue
    }
    if (c === '*') { out += '[^/]*'; i++; continue }
    if (c === '?') { out += '[^/]'; i++; continue }
    if (c === '\\' && i + 1 < p.length) { out += escapeRe(p[i + 1]); i += 2; continue }
    if (c === '[') {
      const end = classEnd(p, i)
      if (end > 0) {
        let cls = p.slice(i + 1, end)
        let neg = false
        if (cls.startsWith('!') || cls.startsWith('^')) { neg = true; cls = cls.slice(1) }
        // inside a JS class only '\\', ']' and '^' need care; escapes keep their character
        cls = cls.replace(/\\(.)|([\]\\^])/g, (_m, esc: string | undefined, raw: string | undefined) => esc != null ? (/[\]\\^-]/.test(esc) ? '\\' + esc : esc) : '\\' + (raw ?? ''))
        out += `(?!/)[${neg ? '^' : ''}${cls}]`
        i = end + 1
        continue
      }
    }
    out += escapeRe(c)
    i++
  }
  return out
}

/** Index of the ']' closing a class opened at `start`, or -1 when it is not a class. */
function classEnd (p: string, start: number): number {
  let i = start + 1
  if (p[i] === '!' || p[i] === '^') i++
  if (p[i] === ']') i++ // a ']' first is literal
  for (; i < p.length; i++) {
    if (p[i] === '\\') { i++; continue }
    if (p[i] === ']') return i
  }
  return -1
}

function escapeRe (c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export function matchesPattern (pattern: IgnorePattern, relPath: string, isDir: boolean): boolean {
  if (pattern.dirOnly && !isDir) return false
  return pattern.regex.test(relPath)
}
