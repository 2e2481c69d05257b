import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { readCborMessage, writeCborMessage } from './cbor.js'

/**
 * One request and one answer on a stream of their own, as length-prefixed CBOR of at most `max` bytes
 * each (the device and fleet protocols). Whatever fails resets the stream and is thrown; what the
 * messages mean is the caller's to check.
 */
export async function requestOnce (node: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, protocol: string, max: number, request: unknown, signal: AbortSignal): Promise<unknown> {
  const stream = await node.dialProtocol(peer, protocol, { signal, runOnLimitedConnection: true })
  const lp = lpStream(stream, { maxDataLength: max })
  try {
    await writeCborMessage(lp, request, max, protocol, { signal })
    const answer = await readCborMessage(lp, { signal })
    await stream.close({ signal }).catch(() => {})
    return answer
  } catch (err) {
    if (stream.status === 'open') stream.abort(err as Error)
    throw err
  }
}

/**
 * The answering side: reads the request, writes what `answer` makes of it, closes. A peer that ends its
 * stream before asking anything, or resets it before its answer is written (it hung up), is no failure:
 * false, nothing answered.
 */
export async function answerOnce (stream: Stream, protocol: string, max: number, signal: AbortSignal, answer: (request: unknown) => Promise<unknown>): Promise<boolean> {
  const lp = lpStream(stream, { maxDataLength: max })
  try {
    let request: unknown
    try {
      request = await readCborMessage(lp, { signal })
    } catch (err) {
      if ((err as Error).name !== 'UnexpectedEOFError' || signal.aborted) throw err
      if (stream.status === 'open') stream.abort(err as Error)
      return false
    }
    const reply = await answer(request)
    try {
      await writeCborMessage(lp, reply, max, protocol, { signal })
    } catch (err) {
      // the asker reset its stream while its answer was being made (it gave up, it will ask again)
      if (stream.status !== 'reset' || signal.aborted) throw err
      return false
    }
    await stream.close({ signal }).catch(() => {})
    return true
  } catch (err) {
    if (stream.status === 'open') stream.abort(err as Error)
    throw err
  }
}
