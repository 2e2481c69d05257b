/**
 * Which files a backup selects and in what order: gitignore-style patterns, per-directory ignore files,
 * and priority patterns. Pure: the scanner reads the ignore files and asks these rules.
 */
export * from './ignore-pattern.js'
export * from './ignore-rules.js'
export * from './path-filter.js'
export * from './priority.js'
