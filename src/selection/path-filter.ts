import { IgnoreRules } from './ignore-rules.js'

/**
 * What a backup leaves out: the config's exclude patterns (restic style: a pattern starting with '/' is
 * anchored at the file-system root, any other matches at any depth) and the rules of the ignore files met
 * on the way down (git style, relative to their directory). A deeper ignore file overrides a shallower one,
 * and ignore files override the config's patterns, as git's per-directory files override its global one.
 * As in git, a file inside an excluded directory cannot be re-included: the scan never enters that
 * directory.
 */
export class PathFilter {
  /** Deepest first. */
  private readonly layers: IgnoreRules[]

  constructor (init: { patterns: string[] } | { layers: IgnoreRules[] }) {
    this.layers = 'layers' in init ? init.layers : [IgnoreRules.fromPatterns(init.patterns, '/', { anchorMiddle: false })].filter(r => !r.empty)
  }

  /** The filter for the entries below `dir`, with the rules of its ignore file (if it has one). */
  withDir (dir: string, ignoreFileText: string | undefined): PathFilter {
    if (ignoreFileText == null) return this
    const rules = IgnoreRules.parse(ignoreFileText, dir)
    if (rules.empty) return this
    return new PathFilter({ layers: [rules, ...this.layers] })
  }

  excluded (absPath: string, isDir: boolean): boolean {
    for (const layer of this.layers) {
      const d = layer.decide(absPath, isDir)
      if (d != null) return d === 'exclude'
    }
    return false
  }
}
