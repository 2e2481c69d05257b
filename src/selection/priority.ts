import { compilePattern, IgnorePattern, matchesPattern } from './ignore-pattern.js'

/**
 * The queue order of a session: the index of the first priority pattern a file matches (patterns in the
 * exclude patterns' syntax: anchored at the root when they start with '/', any depth otherwise), or
 * patterns.length for a file that matches none.
 */
export function priorityRank (patterns: string[]): (absPath: string) => number {
  const compiled = patterns.map(p => compilePattern(p, { anchorMiddle: false })).filter((p): p is IgnorePattern => p != null && !p.negated)
  return (absPath: string): number => {
    const rel = absPath.replace(/^\/+/, '')
    const i = compiled.findIndex(p => matchesPattern(p, rel, false))
    return i < 0 ? compiled.length : i
  }
}
