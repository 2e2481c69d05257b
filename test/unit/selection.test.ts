import assert from 'node:assert/strict'
import { compilePattern, IgnoreRules, matchesPattern, PathFilter, priorityRank } from '../../src/selection/index.js'

const m = (pattern: string, path: string, isDir = false): boolean => {
  const p = compilePattern(pattern)
  assert.ok(p != null, `pattern ${pattern} compiles`)
  return matchesPattern(p, path, isDir)
}

describe('selection/ignore patterns (gitignore semantics)', () => {
  it('skips blank lines and comments; an escaped # or ! is literal', () => {
    assert.equal(compilePattern(''), undefined)
    assert.equal(compilePattern('   '), undefined)
    assert.equal(compilePattern('# comment'), undefined)
    assert.ok(m('\\#file', '#file'))
    assert.ok(m('\\!important', '!important'))
    assert.equal(compilePattern('!x')?.negated, true)
  })

  it('a name without a slash matches at any depth', () => {
    assert.ok(m('*.log', 'a.log'))
    assert.ok(m('*.log', 'deep/er/a.log'))
    assert.ok(!m('*.log', 'a.log.txt'))
    assert.ok(m('build', 'x/build', true))
  })

  it('a slash at the start or in the middle anchors to the base', () => {
    assert.ok(m('/build', 'build', true))
    assert.ok(!m('/build', 'src/build', true))
    assert.ok(m('doc/frotz', 'doc/frotz'))
    assert.ok(!m('doc/frotz', 'a/doc/frotz'))
  })

  it('a trailing slash matches directories only', () => {
    assert.ok(m('tmp/', 'tmp', true))
    assert.ok(!m('tmp/', 'tmp', false))
    assert.ok(m('tmp/', 'a/tmp', true))
  })

  it('* and ? never cross a slash', () => {
    assert.ok(m('a/*.c', 'a/x.c'))
    assert.ok(!m('a/*.c', 'a/b/x.c'))
    assert.ok(m('?.txt', 'x.txt'))
    assert.ok(!m('?.txt', 'xy.txt'))
  })

  it('** forms: leading, trailing and in the middle', () => {
    assert.ok(m('**/foo', 'foo'))
    assert.ok(m('**/foo', 'a/b/foo'))
    assert.ok(m('**/foo/bar', 'x/foo/bar'))
    assert.ok(m('abc/**', 'abc/x'))
    assert.ok(m('abc/**', 'abc/x/y'))
    assert.ok(!m('abc/**', 'abc', true))
    assert.ok(m('a/**/b', 'a/b'))
    assert.ok(m('a/**/b', 'a/x/b'))
    assert.ok(m('a/**/b', 'a/x/y/b'))
    assert.ok(!m('a/**/b', 'xa/b'))
  })

  it('character classes, negated classes and escapes', () => {
    assert.ok(m('file[0-9].txt', 'file3.txt'))
    assert.ok(!m('file[0-9].txt', 'filex.txt'))
    assert.ok(m('file[!0-9].txt', 'filex.txt'))
    assert.ok(!m('file[!0-9].txt', 'file3.txt'))
    assert.ok(m('\\*star', '*star'))
    assert.ok(!m('\\*star', 'xstar'))
    assert.ok(m('a.b', 'a.b'))
    assert.ok(!m('a.b', 'axb'), 'a dot is literal')
  })

  it('trailing spaces are dropped unless escaped', () => {
    assert.ok(m('name   ', 'name'))
    assert.ok(m('name\\ ', 'name '))
  })
})

describe('selection/IgnoreRules', () => {
  it('the last matching pattern decides; ! re-includes', () => {
    const r = IgnoreRules.parse('*.log\n!keep.log\n', '/data')
    assert.equal(r.decide('/data/a.log', false), 'exclude')
    assert.equal(r.decide('/data/sub/keep.log', false), 'include')
    assert.equal(r.decide('/data/a.txt', false), undefined)
    const r2 = IgnoreRules.parse('!keep.log\n*.log\n', '/data')
    assert.equal(r2.decide('/data/keep.log', false), 'exclude', 'order matters')
  })

  it('says nothing of paths outside its base or of the base itself', () => {
    const r = IgnoreRules.parse('*', '/data/x')
    assert.equal(r.decide('/data/y/a', false), undefined)
    assert.equal(r.decide('/data/x', true), undefined)
    assert.equal(r.decide('/data/x/a', false), 'exclude')
  })
})

describe('selection/PathFilter', () => {
  it('config patterns: anchored at / when they start with it, any depth otherwise (even with a slash)', () => {
    const f = new PathFilter({ patterns: ['node_modules', '/srv/tmp', 'cache/*.bin'] })
    assert.ok(f.excluded('/home/u/p/node_modules', true))
    assert.ok(f.excluded('/srv/tmp', true))
    assert.ok(!f.excluded('/home/srv/tmp', true))
    assert.ok(f.excluded('/home/u/cache/a.bin', false))
    assert.ok(!f.excluded('/home/u/a.bin', false))
  })

  it('ignore files apply below their directory; deeper ones override shallower ones and the config', () => {
    const f = new PathFilter({ patterns: ['*.tmp'] })
    const top = f.withDir('/p', '*.log\n')
    const deep = top.withDir('/p/keep', '!*.log\n!*.tmp\n')
    assert.ok(top.excluded('/p/a.log', false))
    assert.ok(top.excluded('/p/a.tmp', false))
    assert.ok(!deep.excluded('/p/keep/a.log', false))
    assert.ok(!deep.excluded('/p/keep/a.tmp', false), 'an ignore file overrides the config patterns')
    assert.ok(deep.excluded('/p/other.log', false), 'the deeper file says nothing outside its directory')
    assert.ok(!f.excluded('/p/a.log', false), 'the parent filter is unchanged')
  })

  it('an empty or absent ignore file changes nothing', () => {
    const f = new PathFilter({ patterns: [] })
    assert.equal(f.withDir('/p', undefined), f)
    assert.equal(f.withDir('/p', '# only a comment\n\n'), f)
    assert.ok(!f.excluded('/p/x', false))
  })
})

describe('selection/priorityRank', () => {
  it('ranks by the first matching pattern; unmatched files come last', () => {
    const rank = priorityRank(['*.kdbx', '/home/u/Documents/**', '*.doc'])
    assert.equal(rank('/home/u/secrets.kdbx'), 0)
    assert.equal(rank('/home/u/Documents/a/b.txt'), 1)
    assert.equal(rank('/home/u/Documents/x.kdbx'), 0)
    assert.equal(rank('/tmp/x.doc'), 2)
    assert.equal(rank('/tmp/x.txt'), 3)
  })
})
