import assert from 'node:assert/strict'
import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { reachingDialer } from '../../src/peer/index.js'

const PEER = peerIdFromString('12D3KooWHs313QQiuqKCQFPJ3oDDbkK51BqTCzZU5DV29mYbDzpH')
const STREAM = { id: 'stream' } as unknown as Stream

/** A dialer whose dials answer from a script, and a reach that connects (or not). */
function setup (dials: Array<Error | Stream>, options: { reachConnects?: boolean, connectedAfterFailure?: boolean, clock?: () => number } = {}): {
  dialer: ReturnType<typeof reachingDialer>
  reached: PeerId[]
  dialCount: () => number
} {
  let n = 0
  let connected = options.connectedAfterFailure === true
  const reached: PeerId[] = []
  const dialer = reachingDialer({
    node: {
      dialProtocol: async () => {
        const next = dials[n++]
        if (next instanceof Error) throw next
        return next
      },
      getConnections: () => connected ? [{}] : []
    },
    reach: async (peer: PeerId, _options: AbortOptions) => {
      reached.push(peer)
      if (options.reachConnects === false) throw Object.assign(new Error('not found'), { name: 'PeerUnreachableError' })
      connected = true
    },
    retryMs: 10_000,
    now: options.clock
  })
  return { dialer, reached, dialCount: () => n }
}

describe('peer/reachingDialer', () => {
  it('dials once when the dial succeeds', async () => {
    const { dialer, reached, dialCount } = setup([STREAM])
    assert.equal(await dialer.dialProtocol(PEER, '/p'), STREAM)
    assert.deepEqual(reached, [])
    assert.equal(dialCount(), 1)
  })

  it('after a failed dial with no connection left, reaches the peer and dials again', async () => {
    const { dialer, reached, dialCount } = setup([new Error('stale address'), STREAM])
    assert.equal(await dialer.dialProtocol(PEER, '/p'), STREAM)
    assert.deepEqual(reached.map(String), [PEER.toString()])
    assert.equal(dialCount(), 2)
  })

  it('throws the dial error when the peer cannot be reached either', async () => {
    const { dialer, reached, dialCount } = setup([new Error('stale address')], { reachConnects: false })
    await assert.rejects(dialer.dialProtocol(PEER, '/p'), { message: 'stale address' })
    assert.equal(reached.length, 1)
    assert.equal(dialCount(), 1)
  })

  it('does not look again for a peer it could not reach, for retryMs', async () => {
    let clock = 1_000_000
    const { dialer, reached, dialCount } = setup([new Error('gone'), new Error('gone'), new Error('gone'), new Error('gone')], { reachConnects: false, clock: () => clock })
    await assert.rejects(dialer.dialProtocol(PEER, '/p'), { message: 'gone' })
    await assert.rejects(dialer.dialProtocol(PEER, '/p'), { message: 'gone' })
    assert.equal(reached.length, 1, 'one lookup for two dials')
    clock += 10_000
    await assert.rejects(dialer.dialProtocol(PEER, '/p'), { message: 'gone' })
    assert.equal(reached.length, 2, 'looked up again after retryMs')
    assert.equal(dialCount(), 3)
  })

  it('does not look for a peer it is connected to (the failure was not the address), nor after an abort', async () => {
    const connected = setup([new Error('protocol refused')], { connectedAfterFailure: true })
    await assert.rejects(connected.dialer.dialProtocol(PEER, '/p'), { message: 'protocol refused' })
    assert.deepEqual(connected.reached, [])
    const aborted = setup([new Error('aborted')])
    await assert.rejects(aborted.dialer.dialProtocol(PEER, '/p', { signal: AbortSignal.abort() }), { message: 'aborted' })
    assert.deepEqual(aborted.reached, [])
  })
})
