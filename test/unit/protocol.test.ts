import assert from 'node:assert/strict'
import { encode } from 'cborg'
import type { Libp2p, Stream } from '@libp2p/interface'
import {
  DATA_CHUNK_SIZE, LIST_BATCH_SIZE, MAX_CONTROL_FRAME, MAX_ERROR_MESSAGE, MAX_OBJECT_SIZE, MAX_PROOF_FRAME, MAX_PROOF_PATH, MAX_PROVE_SEGMENT_SIZE, MAX_PROVE_SEGMENTS, READ_HIGH_WATER, SHARD_PROTOCOL, STREAM_READ_BUFFER_LIMIT,
  StreamReader, WIRE_ERROR_CODES, decodeBody, encodeFrame, encodeVarint, errorFromWire, errorReply, parseDeleteReply,
  parseGetHeader, parseHasReply, parseListBatch, parsePutDone, parsePutReady, parseProveReply, parseDamagedBatch, parseRequest, parseUsageReply, sendBytes,
  sendMessage, varintLength
} from '../../src/protocol/index.js'
import { deadline } from '../../src/util/deadline.js'
import { IntegrityError, NotFoundError, QuotaExceededError } from '../../src/errors.js'
import { object, rejectsNamed } from './store-suite.js'
import { closedStatus, introduce, makeNode } from './libp2p-helpers.js'

/** Length of the varint at the start of a frame. */
function prefixLength (frame: Uint8Array): number {
  let i = 0
  while ((frame[i] & 0x80) !== 0) i++
  return i + 1
}

function body (frame: Uint8Array): Uint8Array {
  return frame.subarray(prefixLength(frame))
}

/** What a peer would receive: the message through the encoder, then back through the decoder. */
function wire (message: unknown): unknown {
  return decodeBody(body(encodeFrame(message)))
}

function throwsNamed (fn: () => unknown, name: string, what = ''): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `${what}: expected ${name}, got ${err.name}: ${err.message}`)
    return true
  }, what)
}

const NAME = object().name

describe('shard protocol: framing', () => {
  it('varints encode lengths as unsigned LEB128', () => {
    assert.deepEqual([...encodeVarint(0)], [0])
    assert.deepEqual([...encodeVarint(127)], [127])
    assert.deepEqual([...encodeVarint(128)], [0x80, 0x01])
    assert.deepEqual([...encodeVarint(300)], [0xac, 0x02])
    assert.deepEqual([...encodeVarint(MAX_CONTROL_FRAME)], [0x80, 0x80, 0x04])
    assert.equal(varintLength(MAX_CONTROL_FRAME), 3)
    assert.throws(() => encodeVarint(-1), RangeError)
    assert.throws(() => encodeVarint(1.5), RangeError)
  })

  it('a frame is the body\'s length then the body', () => {
    const frame = encodeFrame({ op: 'usage' })
    const b = body(frame)
    assert.equal(frame[0], b.length)
    assert.deepEqual(decodeBody(b), new Map([['op', 'usage']]))
    assert.deepEqual(wire({ op: 'usage' }), new Map([['op', 'usage']]))
  })

  it('refuses to encode a message larger than a control frame (TooLargeError)', () => {
    throwsNamed(() => encodeFrame({ pad: 'x'.repeat(MAX_CONTROL_FRAME) }), 'TooLargeError')
    // the largest list batch fits
    const names = Array.from({ length: LIST_BATCH_SIZE }, () => 'f'.repeat(64))
    assert.ok(encodeFrame({ ok: true, names, done: false }).length <= MAX_CONTROL_FRAME + 3)
  })

  it('decodes strictly: trailing bytes, indefinite lengths, undefined, NaN, big integers, tags, non-canonical integers -> ProtocolError', () => {
    const bad: Array<[string, number[]]> = [
      ['empty', []],
      ['trailing bytes', [...encode({ op: 'usage' }), 0x00]],
      ['truncated', [...encode({ op: 'usage' })].slice(0, 3)],
      ['indefinite map', [0xbf, 0x62, 0x6f, 0x70, 0x65, 0x75, 0x73, 0x61, 0x67, 0x65, 0xff]],
      ['undefined', [0xf7]],
      ['NaN', [0xf9, 0x7e, 0x00]],
      ['Infinity', [0xf9, 0x7c, 0x00]],
      ['a 64-bit integer', [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]],
      ['a tag', [0xc1, 0x00]],
      ['a non-canonical integer', [0x18, 0x01]],
      ['a duplicate key', [0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02]],
      ['a reserved byte', [0x1c]]
    ]
    for (const [what, bytes] of bad) throwsNamed(() => decodeBody(Uint8Array.from(bytes)), 'ProtocolError', what)
  })

  it('deeply nested garbage is a ProtocolError, not a crash', () => {
    const deep = new Uint8Array(MAX_CONTROL_FRAME).fill(0x81) // [[[[...
    throwsNamed(() => decodeBody(deep), 'ProtocolError')
  })
})

describe('shard protocol: messages', () => {
  const requests = [
    { op: 'put', kind: 'shard', name: NAME, size: 0 },
    { op: 'put', kind: 'snapshot', name: NAME, size: MAX_OBJECT_SIZE },
    { op: 'get', kind: 'key', name: NAME },
    { op: 'get', kind: 'config', name: NAME, offset: 5, length: 0 },
    { op: 'has', kind: 'index', name: NAME },
    { op: 'list', kind: 'shard' },
    { op: 'delete', kind: 'shard', name: NAME },
    { op: 'usage' }
  ]

  it('every request survives the round trip through a frame', () => {
    for (const r of requests) assert.deepEqual(parseRequest(wire(r)), r)
  })

  it('every reply survives the round trip through a frame', () => {
    const cases: Array<[(v: unknown) => unknown, object]> = [
      [parsePutReady, { ok: true, send: true }],
      [parsePutReady, { ok: true, send: false }],
      [parsePutDone, { ok: true, stored: 12 }],
      [parseGetHeader, { ok: true, size: MAX_OBJECT_SIZE }],
      [parseHasReply, { ok: true, has: false }],
      [parseListBatch, { ok: true, names: [NAME, object().name], done: false }],
      [parseListBatch, { ok: true, names: [], done: true }],
      [parseDeleteReply, { ok: true, freed: 0 }],
      [parseUsageReply, { ok: true, objects: 3, bytes: 2 ** 40, quota: Number.MAX_SAFE_INTEGER }]
    ]
    for (const [parse, reply] of cases) assert.deepEqual(parse(wire(reply)), reply)
    const err = { ok: false, error: { code: 'NotFoundError', message: 'gone' } }
    for (const parse of [parsePutReady, parsePutDone, parseGetHeader, parseHasReply, parseListBatch, parseDeleteReply, parseUsageReply]) {
      assert.deepEqual(parse(wire(err)), err)
    }
  })

  it('the request validator refuses every malformed field (ProtocolError)', () => {
    const bad: Array<[string, unknown]> = [
      ['not a map', ['put']],
      ['a plain object instead of a decoded map', { op: 'usage' }],
      ['no op', new Map([['kind', 'shard']])],
      ['unknown op', new Map([['op', 'format']])],
      ['op not a string', new Map([['op', 1]])],
      ['a non-string key', new Map<unknown, unknown>([['op', 'usage'], [1, 2]])],
      ['an extra field', new Map<string, unknown>([['op', 'usage'], ['x', 1]])],
      ['missing kind', new Map([['op', 'list']])],
      ['unknown kind', new Map([['op', 'list'], ['kind', 'tmp']])],
      ['kind not a string', new Map<string, unknown>([['op', 'list'], ['kind', 0]])],
      ['missing name', new Map([['op', 'has'], ['kind', 'shard']])],
      ...['', 'abc', NAME.toUpperCase(), NAME + '0', NAME.slice(1), `../${NAME.slice(3)}`, `${NAME.slice(1)}\n`].map(
        (name): [string, unknown] => [`name ${JSON.stringify(name)}`, new Map([['op', 'has'], ['kind', 'shard'], ['name', name]])]),
      ['name not a string', new Map<string, unknown>([['op', 'has'], ['kind', 'shard'], ['name', new Uint8Array(32)]])],
      ['missing size', new Map([['op', 'put'], ['kind', 'shard'], ['name', NAME]])],
      ...[-1, 1.5, MAX_OBJECT_SIZE + 1, '10', null, true].map((size): [string, unknown] =>
        [`size ${String(size)}`, new Map<string, unknown>([['op', 'put'], ['kind', 'shard'], ['name', NAME], ['size', size]])]),
      ...[-1, 0.5, 2 ** 53, 'x'].map((offset): [string, unknown] =>
        [`offset ${String(offset)}`, new Map<string, unknown>([['op', 'get'], ['kind', 'shard'], ['name', NAME], ['offset', offset]])]),
      ...[-5, 1e300, false].map((length): [string, unknown] =>
        [`length ${String(length)}`, new Map<string, unknown>([['op', 'get'], ['kind', 'shard'], ['name', NAME], ['length', length]])]),
      ['offset on a has', new Map<string, unknown>([['op', 'has'], ['kind', 'shard'], ['name', NAME], ['offset', 0]])],
      ['a __proto__ key', new Map<string, unknown>([['op', 'usage'], ['__proto__', new Map([['op', 'delete']])]])]
    ]
    for (const [what, value] of bad) throwsNamed(() => parseRequest(value), 'ProtocolError', what)
  })

  it('prove: a well-formed request and reply pass; every malformed field is a ProtocolError', () => {
    const nonce = new Uint8Array(32).fill(7)
    const req = { op: 'prove', kind: 'shard', name: NAME, nonce, segmentSize: 1024, indices: [3, 9] }
    assert.deepEqual(parseRequest(wire(req)), req)
    const proof = { index: 3, segment: new Uint8Array(1024), path: [new Uint8Array(32), new Uint8Array(32)] }
    assert.deepEqual(parseProveReply(wire({ ok: true, nonce, proofs: [proof] })), { ok: true, nonce, proofs: [proof] })
    const request = (field: string, value: unknown): Map<string, unknown> => new Map(Object.entries({ ...req, [field]: value }))
    const bad: Array<[string, unknown]> = [
      ['nonce too short', request('nonce', new Uint8Array(8))],
      ['nonce a string', request('nonce', 'abc')],
      ['segment size too small', request('segmentSize', 16)],
      ['segment size too large', request('segmentSize', 1 << 20)],
      ['no indices', request('indices', [])],
      ['too many indices', request('indices', Array.from({ length: MAX_PROVE_SEGMENTS + 1 }, (_, i) => i))],
      ['repeated indices', request('indices', [4, 4])],
      ['a negative index', request('indices', [-1])],
      ['indices not a list', request('indices', 5)]
    ]
    for (const [what, value] of bad) throwsNamed(() => parseRequest(value), 'ProtocolError', what)
    const reply = (proofs: unknown): Map<string, unknown> => new Map<string, unknown>([['ok', true], ['nonce', nonce], ['proofs', proofs]])
    const p = (fields: Record<string, unknown>): Map<string, unknown> => new Map(Object.entries({ ...proof, ...fields }))
    const badReplies: Array<[string, unknown]> = [
      ['a segment above the largest size', reply([p({ segment: new Uint8Array(MAX_PROVE_SEGMENT_SIZE + 1) })])],
      ['a hash of 31 bytes', reply([p({ path: [new Uint8Array(31)] })])],
      ['a path too long', reply([p({ path: Array(MAX_PROOF_PATH + 1).fill(new Uint8Array(32)) })])],
      ['too many proofs', reply(Array(MAX_PROVE_SEGMENTS + 1).fill(p({})))],
      ['an extra field in a proof', reply([p({ extra: 1 })])]
    ]
    for (const [what, value] of badReplies) throwsNamed(() => parseProveReply(value), 'ProtocolError', what)
    // the largest reply fits its frame bound
    const largest = { ok: true, nonce, proofs: Array(MAX_PROVE_SEGMENTS).fill({ index: 2 ** 40, segment: new Uint8Array(MAX_PROVE_SEGMENT_SIZE), path: Array(MAX_PROOF_PATH).fill(new Uint8Array(32)) }) }
    assert.ok(encodeFrame(largest, MAX_PROOF_FRAME).length <= MAX_PROOF_FRAME + 8)
  })

  it('damaged: the request and its batches pass; malformed items are a ProtocolError', () => {
    assert.deepEqual(parseRequest(wire({ op: 'damaged' })), { op: 'damaged' })
    throwsNamed(() => parseRequest(new Map<string, unknown>([['op', 'damaged'], ['since', 1]])), 'ProtocolError', 'an unknown field')
    const item = { kind: 'shard', name: NAME, at: 1700000000000, reason: 'its bytes no longer hash to its name' }
    assert.deepEqual(parseDamagedBatch(wire({ ok: true, items: [item], done: true })), { ok: true, items: [item], done: true })
    const m = (fields: Record<string, unknown>): Map<string, unknown> => new Map<string, unknown>([['ok', true], ['items', [new Map(Object.entries({ ...item, ...fields }))]], ['done', true]])
    for (const [what, value] of [
      ['a bad name', m({ name: 'x' })],
      ['an unknown kind', m({ kind: 'secret' })],
      ['a negative time', m({ at: -1 })],
      ['a reason too long', m({ reason: 'x'.repeat(MAX_ERROR_MESSAGE + 1) })],
      ['too many items', new Map<string, unknown>([['ok', true], ['items', Array(LIST_BATCH_SIZE + 1).fill(new Map(Object.entries(item)))], ['done', true]])]
    ] as Array<[string, unknown]>) throwsNamed(() => parseDamagedBatch(value), 'ProtocolError', what)
  })

  it('the reply validators refuse every malformed field (ProtocolError)', () => {
    const m = (entries: Array<[unknown, unknown]>): Map<unknown, unknown> => new Map(entries)
    const bad: Array<[string, (v: unknown) => unknown, unknown]> = [
      ['not a map', parseHasReply, true],
      ['no ok', parseHasReply, m([['has', true]])],
      ['ok not a boolean', parseHasReply, m([['ok', 1], ['has', true]])],
      ['has not a boolean', parseHasReply, m([['ok', true], ['has', 'yes']])],
      ['extra field', parseHasReply, m([['ok', true], ['has', true], ['more', 1]])],
      ['send missing', parsePutReady, m([['ok', true]])],
      ['stored negative', parsePutDone, m([['ok', true], ['stored', -1]])],
      ['size above the object limit', parseGetHeader, m([['ok', true], ['size', MAX_OBJECT_SIZE + 1]])],
      ['size fractional', parseGetHeader, m([['ok', true], ['size', 0.5]])],
      ['names not a list', parseListBatch, m([['ok', true], ['names', NAME], ['done', true]])],
      ['a bad name in a list', parseListBatch, m([['ok', true], ['names', [NAME, 'nope']], ['done', true]])],
      ['too many names in a batch', parseListBatch, m([['ok', true], ['names', Array(LIST_BATCH_SIZE + 1).fill(NAME)], ['done', true]])],
      ['done missing', parseListBatch, m([['ok', true], ['names', []]])],
      ['freed a string', parseDeleteReply, m([['ok', true], ['freed', '1']])],
      ['quota missing', parseUsageReply, m([['ok', true], ['objects', 0], ['bytes', 0]])],
      ['error without code', parseHasReply, m([['ok', false], ['error', m([['message', 'x']])]])],
      ['error code too long', parseHasReply, m([['ok', false], ['error', m([['code', 'E'.repeat(65)], ['message', 'x']])]])],
      ['error message too long', parseHasReply, m([['ok', false], ['error', m([['code', 'NotFoundError'], ['message', 'x'.repeat(MAX_ERROR_MESSAGE + 1)]])]])],
      ['error not a map', parseHasReply, m([['ok', false], ['error', 'NotFoundError']])],
      ['error with a success field', parseHasReply, m([['ok', false], ['has', true], ['error', m([['code', 'NotFoundError'], ['message', '']])]])]
    ]
    for (const [what, parse, value] of bad) throwsNamed(() => parse(value), 'ProtocolError', what)
  })
})

describe('shard protocol: errors on the wire', () => {
  it('the project\'s conditions travel by class name and come back as the same class', () => {
    for (const code of WIRE_ERROR_CODES) {
      const err = errorFromWire({ code, message: 'why' }, 'PEER')
      assert.equal(err.name, code)
      assert.match(err.message, /^peer PEER: why$/)
    }
    const reply = errorReply(new QuotaExceededError('quota exceeded: 5 of 4'))
    assert.deepEqual(reply, { ok: false, error: { code: 'QuotaExceededError', message: 'quota exceeded: 5 of 4' } })
    assert.equal(errorFromWire(errorReply(new IntegrityError('bad')).error, 'P').name, 'IntegrityError')
    assert.ok(errorFromWire(errorReply(new NotFoundError('x')).error, 'P') instanceof NotFoundError)
  })

  it('any other failure goes out without its details; long messages are cut', () => {
    const leak = Object.assign(new Error('EACCES: permission denied, open \'/home/host/.local/share/holdfast/shards/x\''), { code: 'EACCES' })
    assert.deepEqual(errorReply(leak), { ok: false, error: { code: 'StoreUnavailableError', message: 'the host could not complete the request' } })
    assert.equal(errorReply(new NotFoundError('y'.repeat(5000))).error.message.length, MAX_ERROR_MESSAGE)
  })

  it('an unknown code comes back as a ProtocolError', () => {
    assert.equal(errorFromWire({ code: 'toString', message: '' }, 'P').name, 'ProtocolError')
    assert.equal(errorFromWire({ code: 'AbortedError', message: '' }, 'P').name, 'ProtocolError')
  })
})

describe('deadline', () => {
  it('aborts after its time and says it timed out', async () => {
    const d = deadline(20)
    await new Promise(resolve => setTimeout(resolve, 60))
    assert.equal(d.signal.aborted, true)
    assert.equal(d.timedOut, true)
    d.clear()
  })

  it('follows a parent signal, aborted before or after, and clear stops everything', async () => {
    const parent = new AbortController()
    const d = deadline(10_000, undefined, parent.signal)
    parent.abort(new Error('stop'))
    assert.equal(d.signal.aborted, true)
    assert.equal(d.timedOut, false)
    assert.equal((d.signal.reason as Error).message, 'stop')
    d.clear()
    const early = deadline(10_000, parent.signal)
    assert.equal(early.signal.aborted, true)
    const cleared = deadline(20)
    cleared.clear()
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(cleared.signal.aborted, false)
  })
})

/** Polls until `cond` holds (a loaded machine may take a while to move megabytes). */
async function waitFor (cond: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached in time')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

describe('StreamReader and the writers on real streams', () => {
  let a: Libp2p
  let b: Libp2p
  let inbound: Promise<Stream>

  beforeEach(async () => {
    a = await makeNode()
    b = await makeNode()
    await introduce(a, b)
    inbound = new Promise(resolve => {
      void b.handle(SHARD_PROTOCOL, (stream) => { resolve(stream) })
    })
  })

  afterEach(async () => {
    await a.stop()
    await b.stop()
  })

  it('pauses a stream past its high-water mark, so the sender waits with a short queue; resumes as it reads', async () => {
    const out = await a.dialProtocol(b.peerId, SHARD_PROTOCOL)
    // more than a yamux window (16 MiB at most) and the reader's buffer can hold between them
    const total = 40 * 1024 * 1024
    const data = new Uint8Array(total).fill(7)
    const sending = sendBytes(out, data).then(() => 'sent')
    const stream = await inbound
    const reader = new StreamReader(stream)
    await waitFor(() => stream.readStatus === 'paused' && out.writeBufferLength > 0)
    // nobody reads: the receiver pauses, the sender is blocked and holds at most two pieces in its queue
    assert.equal(stream.readStatus, 'paused')
    assert.equal(await Promise.race([sending, new Promise(resolve => setTimeout(() => resolve('blocked'), 100))]), 'blocked')
    assert.ok(out.writeBufferLength <= 2 * DATA_CHUNK_SIZE, `sender queue ${out.writeBufferLength}`)
    assert.ok(stream.readBufferLength <= STREAM_READ_BUFFER_LIMIT, `receiver buffer ${stream.readBufferLength}`)
    let received = 0
    for await (const chunk of reader.readChunks(total)) {
      assert.ok(chunk.length <= DATA_CHUNK_SIZE)
      received += chunk.length
    }
    assert.equal(received, total)
    assert.equal(await sending, 'sent')
    assert.notEqual(stream.readStatus, 'paused')
    await out.close()
    await reader.expectEnd()
    reader.dispose()
    assert.ok(READ_HIGH_WATER < total)
  })

  it('stays paused after a resume that hands it more than its high-water mark at once', async () => {
    // resume() dispatches everything the stream held while paused; pausing again from inside that dispatch
    // would be undone by the resume()'s own window update (the muxer would then grant window forever)
    const out = await a.dialProtocol(b.peerId, SHARD_PROTOCOL)
    const total = 48 * 1024 * 1024
    const sending = sendBytes(out, new Uint8Array(total).fill(1))
    const stream = await inbound
    const reader = new StreamReader(stream)
    await waitFor(() => stream.readStatus === 'paused' && stream.readBufferLength > READ_HIGH_WATER)
    // take enough to resume once: the stream's backlog lands in the reader, which must pause again for real
    await reader.readExact(READ_HIGH_WATER)
    await new Promise(resolve => setTimeout(resolve, 400))
    assert.equal(stream.status, 'open')
    assert.equal(stream.readStatus, 'paused')
    assert.ok(stream.readBufferLength <= 16 * 1024 * 1024, `the muxer kept granting window: ${stream.readBufferLength} bytes held`)
    let received = READ_HIGH_WATER
    for await (const chunk of reader.readChunks(total - received)) received += chunk.length
    assert.equal(received, total)
    await sending
    reader.dispose()
  })

  it('reads frames, exact byte counts and the end; refuses bytes after the end it expected', async () => {
    const out = await a.dialProtocol(b.peerId, SHARD_PROTOCOL)
    await sendMessage(out, { op: 'usage' })
    await sendBytes(out, Uint8Array.from([1, 2, 3, 4, 5]))
    await out.close()
    const reader = new StreamReader(await inbound)
    assert.deepEqual(parseRequest(await reader.readMessage(MAX_CONTROL_FRAME)), { op: 'usage' })
    assert.deepEqual([...await reader.readExact(2)], [1, 2])
    await rejectsNamed(() => reader.expectEnd(), 'ProtocolError')
    assert.deepEqual([...await reader.readExact(3)], [3, 4, 5])
    await reader.expectEnd()
    assert.equal(await reader.readFrame(MAX_CONTROL_FRAME), null)
    reader.dispose()
  })

  it('an end in the middle of announced bytes is a StoreUnavailableError; an oversized frame a ProtocolError', async () => {
    const out = await a.dialProtocol(b.peerId, SHARD_PROTOCOL)
    await sendBytes(out, Uint8Array.from([10, 1, 2]))
    await out.close()
    const reader = new StreamReader(await inbound)
    await rejectsNamed(() => reader.readFrame(MAX_CONTROL_FRAME), 'StoreUnavailableError')
    reader.dispose()

    const big = new Promise<Stream>(resolve => { void b.handle('/holdfast/test-big', (s) => { resolve(s) }) })
    const out3 = await a.dialProtocol(b.peerId, '/holdfast/test-big')
    out3.send(encodeVarint(MAX_CONTROL_FRAME + 1))
    const r3 = new StreamReader(await big)
    await rejectsNamed(() => r3.readFrame(MAX_CONTROL_FRAME), 'ProtocolError')
    r3.dispose()
    out3.abort(new Error('done'))
  })

  it('a reset while reading rejects the read; an abort of the caller\'s signal rejects with AbortedError', async () => {
    const out = await a.dialProtocol(b.peerId, SHARD_PROTOCOL)
    out.send(Uint8Array.from([1]))
    const stream = await inbound
    const reader = new StreamReader(stream)
    const ac = new AbortController()
    const waiting = reader.readExact(10, ac.signal)
    setTimeout(() => ac.abort(), 50)
    await rejectsNamed(() => waiting, 'AbortedError')
    const reading = reader.readExact(10)
    out.abort(new Error('gone'))
    await assert.rejects(reading)
    assert.equal(await closedStatus(stream), 'reset')
    reader.dispose()
  })
})
