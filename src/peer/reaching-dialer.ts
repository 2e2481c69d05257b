import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import type { ProtocolDialer } from './peer-shard-store.js'

/**
 * A ProtocolDialer for the owner's peer stores that does not give up on a peer whose address changed.
 * When a dial fails and no connection to the peer is left, it calls `reach` (presence.reach: the known
 * addresses again, then a DHT lookup) and, if that connects, dials once more. Otherwise the first dial's
 * error is thrown, as a plain dialer would, and for `retryMs` that peer's failed dials are not followed
 * by another lookup: an operation (one dialer per backup or restore) asks for many shards of a peer that
 * is really gone, and each lookup can take seconds. A dial cancelled by its signal is not retried.
 */
export interface ReachingDialerInit {
  node: ProtocolDialer & { getConnections: (peer?: PeerId) => unknown[] }
  /** Connects to the peer or throws. */
  reach: (peer: PeerId, options: AbortOptions) => Promise<void>
  /** How long a peer that could not be reached is not looked for again (default 10 s). */
  retryMs?: number
  /** Clock, for tests. */
  now?: () => number
}

export const DEFAULT_REACH_RETRY_MS = 10_000

export function reachingDialer (init: ReachingDialerInit): ProtocolDialer {
  const { node, reach } = init
  const retryMs = init.retryMs ?? DEFAULT_REACH_RETRY_MS
  const now = init.now ?? Date.now
  const unreachableSince = new Map<string, number>()
  return {
    async dialProtocol (peer: PeerId, protocols: string | string[], options: AbortOptions & { runOnLimitedConnection?: boolean } = {}): Promise<Stream> {
      const aborted = (): boolean => options.signal?.aborted === true
      try {
        return await node.dialProtocol(peer, protocols, options)
      } catch (err) {
        if (aborted() || node.getConnections(peer).length > 0) throw err
        const key = peer.toString()
        const since = unreachableSince.get(key)
        if (since != null && now() - since < retryMs) throw err
        try {
          await reach(peer, { signal: options.signal })
        } catch {
          if (!aborted()) unreachableSince.set(key, now())
          throw err
        }
        unreachableSince.delete(key)
        return await node.dialProtocol(peer, protocols, options)
      }
    }
  }
}
