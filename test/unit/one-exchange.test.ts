import assert from 'node:assert/strict'
import type { Libp2p, Stream } from '@libp2p/interface'
import { answerOnce, requestOnce } from '../../src/node/one-exchange.js'
import { introduce, makeNode } from './libp2p-helpers.js'

const PROTOCOL = '/holdfast-test/one-exchange/1.0.0'
const MAX = 1024

describe('node/one-exchange', function () {
  let asker: Libp2p
  let answerer: Libp2p
  let outcomes: Array<Promise<boolean>>
  let answer: (request: unknown) => Promise<unknown>
  beforeEach(async () => {
    [asker, answerer] = await Promise.all([makeNode(), makeNode()])
    outcomes = []
    answer = async request => ({ echo: request })
    await answerer.handle(PROTOCOL, (stream: Stream) => {
      outcomes.push(answerOnce(stream, PROTOCOL, MAX, AbortSignal.timeout(10_000), async r => await answer(r)))
    })
    await introduce(asker, answerer)
  })
  afterEach(async () => {
    await Promise.all([asker.stop(), answerer.stop()])
  })

  it('one request, one answer: true on the answering side', async () => {
    assert.deepEqual(await requestOnce(asker, answerer.peerId, PROTOCOL, MAX, { n: 1 }, AbortSignal.timeout(10_000)), { echo: { n: 1 } })
    assert.deepEqual(await Promise.all(outcomes), [true])
  })

  it('an asker that resets its stream while the answer is being made hung up: false, not a failure', async () => {
    let asked!: () => void
    const arrived = new Promise<void>(resolve => { asked = resolve })
    let release!: () => void
    const released = new Promise<void>(resolve => { release = resolve })
    answer = async () => { asked(); await released; return { t: 'error', message: 'peer is not trusted' } }
    const stream = await asker.dialProtocol(answerer.peerId, PROTOCOL)
    const giveUp = new AbortController()
    const call = requestOnceOn(stream, giveUp.signal)
    await arrived
    giveUp.abort(new Error('the asker gave up'))
    await assert.rejects(call)
    await new Promise(resolve => setTimeout(resolve, 200)) // the reset reaches the answering side
    release()
    assert.equal(outcomes.length, 1)
    assert.equal(await outcomes[0], false)
  })

  it('a malformed request is still a failure', async () => {
    const stream = await asker.dialProtocol(answerer.peerId, PROTOCOL)
    stream.send(Uint8Array.from([3, 0xff, 0xff, 0xff]))
    await stream.close()
    for (let i = 0; i < 100 && outcomes.length === 0; i++) await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(outcomes.length, 1)
    await assert.rejects(outcomes[0])
  })
})

/** requestOnce's exchange on a stream the test dialled itself, so it can abort it. */
async function requestOnceOn (stream: Stream, signal: AbortSignal): Promise<void> {
  const { lpStream } = await import('@libp2p/utils')
  const { readCborMessage, writeCborMessage } = await import('../../src/node/cbor.js')
  const lp = lpStream(stream, { maxDataLength: MAX })
  signal.addEventListener('abort', () => { stream.abort(signal.reason as Error) }, { once: true })
  await writeCborMessage(lp, { t: 'hello' }, MAX, PROTOCOL, { signal })
  await readCborMessage(lp, { signal })
}
