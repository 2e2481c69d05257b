import { relative, sep } from 'node:path'
import { compilePattern, CompileOptions, IgnorePattern, matchesPattern } from './ignore-pattern.js'

/** What a set of rules says of a path: excluded, re-included by a `!` pattern, or nothing. */
export type IgnoreDecision = 'exclude' | 'include' | undefined

/**
 * The patterns of one source (an ignore file, or the config's exclude list) with the directory they are
 * relative to. The last pattern that matches decides, as in git.
 */
export class IgnoreRules {
  private constructor (readonly base: string, readonly patterns: IgnorePattern[]) {}

  static parse (text: string, base: string, options?: CompileOptions): IgnoreRules {
    return IgnoreRules.fromPatterns(text.split('\n'), base, options)
  }

  static fromPatterns (lines: string[], base: string, options?: CompileOptions): IgnoreRules {
    const patterns: IgnorePattern[] = []
    for (const line of lines) {
      const p = compilePattern(line, options)
      if (p != null) patterns.push(p)
    }
    return new IgnoreRules(base, patterns)
  }

  get empty (): boolean {
    return this.patterns.length === 0
  }

  decide (absPath: string, isDir: boolean): IgnoreDecision {
    const rel = relative(this.base, absPath)
    if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) return undefined
    const path = sep === '/' ? rel : rel.split(sep).join('/')
    for (let i = this.patterns.length - 1; i >= 0; i--) {
      const p = this.patterns[i]
      if (matchesPattern(p, path, isDir)) return p.negated ? 'include' : 'exclude'
    }
    return undefined
  }
}
