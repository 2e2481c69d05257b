/**
 * The pure cores of browsing and the WebDAV view: name matching (substring or glob), HTTP byte ranges,
 * Content-Disposition names, WebDAV folder names, hrefs and multistatus XML, a restore's session report.
 */
import assert from 'node:assert/strict'
import { nameMatcher } from '../../src/browse/name-match.js'
import { contentDisposition, parseRange } from '../../src/web/http-range.js'
import { davHref, davSegments, multistatus, snapshotFolder, contentTypeOf } from '../../src/web/dav-xml.js'
import { restoreReport } from '../../src/session/restore-report.js'
import { restoreBody } from '../../src/web/snapshot-routes.js'

describe('browsing cores', function () {
  it('matches a substring case-insensitively, or a glob against the whole name', function () {
    const sub = nameMatcher('Report')
    assert.ok(sub('annual report.pdf'))
    assert.ok(!sub('summary.pdf'))
    const glob = nameMatcher('*.PDF')
    assert.ok(glob('report.pdf'))
    assert.ok(!glob('report.pdf.bak'))
    assert.ok(nameMatcher('photo-??.jpg')('photo-12.jpg'))
    assert.ok(!nameMatcher('photo-??.jpg')('photo-123.jpg'))
    assert.ok(nameMatcher('[ab]*.txt')('bob.txt'))
    assert.ok(!nameMatcher('[!ab]*.txt')('bob.txt'))
    assert.ok(nameMatcher('a+b(1).txt')('a+b(1).txt'), 'regexp characters are literal')
    assert.ok(nameMatcher('[x')('[x'), 'an unclosed bracket is literal')
  })

  it('reads one byte range; several, or a malformed one, mean the whole content', function () {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 100 })
    assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 1000 })
    assert.deepEqual(parseRange('bytes=-10', 1000), { start: 990, end: 1000 })
    assert.deepEqual(parseRange('bytes=-5000', 1000), { start: 0, end: 1000 })
    assert.deepEqual(parseRange('bytes=10-5000', 1000), { start: 10, end: 1000 })
    assert.equal(parseRange('bytes=1000-', 1000), 'unsatisfiable')
    assert.equal(parseRange('bytes=5-2', 1000), 'unsatisfiable')
    assert.equal(parseRange('bytes=0-1,5-6', 1000), null)
    assert.equal(parseRange('items=0-1', 1000), null)
    assert.equal(parseRange(null, 1000), null)
    assert.equal(parseRange('bytes=0-', 0), 'unsatisfiable')
  })

  it('names a download safely: an ASCII fallback and the UTF-8 name', function () {
    assert.equal(contentDisposition('my notes é.txt'), 'attachment; filename="my notes _.txt"; filename*=UTF-8\'\'my%20notes%20%C3%A9.txt')
    assert.equal(contentDisposition('a"b;c\r\n.txt'), 'attachment; filename="a_b_c__.txt"; filename*=UTF-8\'\'a%22b%3Bc__.txt')
    assert.match(contentDisposition(''), /filename="download"/)
  })

  it('WebDAV: folder names, encoded hrefs, decoded segments, multistatus XML', function () {
    assert.equal(snapshotFolder('2026-12-05T14:03:11.123Z', 'ab12cd34ef'), '2026-12-05T14-03-11_ab12cd34')
    assert.equal(davHref('/dav', ['2026_ab', 'my notes é.txt'], false), '/dav/2026_ab/my%20notes%20%C3%A9.txt')
    assert.equal(davHref('/dav', ['a b'], true), '/dav/a%20b/')
    assert.equal(davHref('/dav', [], true), '/dav/')
    assert.deepEqual(davSegments('/dav', '/dav/x/my%20notes%20%C3%A9.txt'), ['x', 'my notes é.txt'])
    assert.deepEqual(davSegments('/dav', '/dav'), [])
    assert.equal(davSegments('/dav', '/dav/x/%2e%2e/y'), null)
    assert.equal(davSegments('/dav', '/dav/x/a%2Fb'), null)
    assert.equal(davSegments('/dav', '/dav/%E0%A4%A'), null)
    assert.equal(davSegments('/dav', '/davx'), null)
    const xml = multistatus([{ href: '/dav/a%20b/', name: 'a <b>', collection: true, size: 0, mtime: '2026-01-01T00:00:00Z' }, { href: '/dav/f.pdf', name: 'f.pdf', collection: false, size: 12, mtime: '2026-01-01T00:00:00Z' }])
    assert.match(xml, /<D:displayname>a &lt;b&gt;<\/D:displayname><D:resourcetype><D:collection\/><\/D:resourcetype>/)
    assert.match(xml, /<D:getcontentlength>12<\/D:getcontentlength><D:getcontenttype>application\/pdf<\/D:getcontenttype>/)
    assert.match(xml, /<D:getlastmodified>Thu, 01 Jan 2026 00:00:00 GMT<\/D:getlastmodified>/)
    assert.equal(contentTypeOf('x.unknown'), 'application/octet-stream')
  })

  it('a restore\'s session report: ok, partial when entries failed, failed on an error', function () {
    const base = { id: '0123456789abcdef', trigger: 'manual' as const, started: '2026-01-01T00:00:00.000Z', ended: '2026-01-01T00:01:00.000Z', snapshot: 'ab'.repeat(32), paths: ['/a'], target: '/t' }
    const ok = restoreReport({ ...base, result: { files: 3, dirs: 1, symlinks: 0, bytes: 10, skipped: 1, failed: [] } })
    assert.equal(ok.kind, 'restore')
    assert.equal(ok.status, 'ok')
    assert.deepEqual(ok.counts, { filesNew: 3, filesChanged: 0, filesUnchanged: 1, dirs: 1, errors: 0 })
    assert.equal(restoreReport({ ...base, result: { files: 3, dirs: 1, symlinks: 0, bytes: 10, skipped: 0, failed: [{ path: '/a/x', reason: 'pack lost' }] } }).status, 'partial')
    const failed = restoreReport({ ...base, error: Object.assign(new Error('no shards'), { name: 'PackUnrecoverableError' }) })
    assert.equal(failed.status, 'failed')
    assert.equal(failed.reason, 'PackUnrecoverableError: no shards')
  })

  it('checks a restore\'s body', function () {
    assert.deepEqual(restoreBody({ snapshot: 'abcd', paths: ['/x'], target: 'original' }), { snapshot: 'abcd', paths: ['/x'], target: 'original' })
    for (const bad of [{}, { snapshot: 'abcd', paths: [], target: '/t' }, { snapshot: 'abcd', paths: ['x'], target: '/t' }, { snapshot: 'abcd', paths: ['/x'], target: 't' }, { snapshot: 'zz', paths: ['/x'], target: '/t' }, { snapshot: 'abcd', paths: ['/x'], target: '/t', overwrite: 'sometimes' }]) {
      assert.throws(() => restoreBody(bad), { name: 'UsageError' }, JSON.stringify(bad))
    }
  })
})
