import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { ProtocolDialer } from './peer-shard-store.js'

/**
 * A ProtocolDialer for the owner's peer stores that does not give up on a peer whose address changed.
 * When a dial fails and no connection to the peer is left, it calls `reach` (presence.reach: the known
 * addresses again, then a DHT lookup, sharing any attempt already under way) and, if that connects,
 * dials once more. Otherwise the first dial's error is thrown, as a plain dialer would. A dial
 * cancelled by its signal is not retried.
 */
export interface ReachingDialerInit {
  node: ProtocolDialer & { getConnections: (peer?: PeerId) => unknown[] }
  /** Connects to the peer or throws. */
  reach: (peer: PeerId, options: AbortOptions) => Promise<void>
}

export function reachingDialer (init: ReachingDialerInit): ProtocolDialer {
  const { node, reach } = init
  return {
    async dialProtocol (peer: PeerId, protocols: string | string[], options: AbortOptions & { runOnLimitedConnection?: boolean } = {}): Promise<Stream> {
      try {
        return await node.dialProtocol(peer, protocols, options)
      } catch (err) {
        if (options.signal?.aborted === true || node.getConnections(peer).length > 0) throw err
        try {
          await reach(peer, { signal: options.signal })
        } catch {
          throw err
        }
        return await node.dialProtocol(peer, protocols, options)
      }
    }
  }
}
