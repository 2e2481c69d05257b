import type { AbortOptions, PeerInfo } from '@libp2p/interface'

/**
 * libp2p's random walk (the `randomWalk` component) asks the DHT for the peers closest to random keys,
 * one query after another, for as long as a consumer waits for a peer. Two services consume it: the
 * circuit-relay transport while it lacks a relay (listening on /p2p-circuit with no reservation) and
 * AutoNAT while an address is unverified (10 s of every minute). In a Holdfast network that walk can
 * find nobody new: the DHT holds trusted peers only, presence keeps them connected, and the gate turns
 * everyone else away. The queries answer at once from the few peers there are, so the walk never
 * pauses: one idle daemon spent 15-45% of a core on it, and every paired peer answered its queries.
 *
 * `withoutRandomWalk(factory)` gives a service a view of libp2p's components whose random walk yields
 * no peer and ends when the caller's signal aborts. The services keep their other ways of finding
 * peers, which only ever reach peers that may connect: the relay transport reserves on connected peers
 * that speak the relay protocol (a trusted peer with relay.server on) and on relays in the peer store;
 * AutoNAT asks the connected peers that speak it.
 */
export interface RandomWalkLike {
  walk: (options?: AbortOptions) => AsyncGenerator<PeerInfo>
}

/** A random walk that finds nothing: it waits until the signal aborts, then ends without a peer. */
export const NO_RANDOM_WALK: RandomWalkLike = {
  async * walk (options?: AbortOptions): AsyncGenerator<PeerInfo> {
    const signal = options?.signal
    if (signal == null || signal.aborted) return
    await new Promise<void>(resolve => signal.addEventListener('abort', () => resolve(), { once: true }))
  }
}

/** Wraps a libp2p service or transport factory so that it sees NO_RANDOM_WALK as `randomWalk`. */
export function withoutRandomWalk<C extends object, T> (factory: (components: C) => T): (components: C) => T {
  return (components: C): T => factory(new Proxy(components, {
    get: (target, prop, receiver) => prop === 'randomWalk' ? NO_RANDOM_WALK : Reflect.get(target, prop, receiver)
  }))
}
