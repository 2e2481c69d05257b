import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'

/** The multiaddr code of the /p2p/ component. */
const P2P = 421

/** The address without any trailing /p2p/<peer id> (how trust entries keep addresses). */
export function withoutPeerId (addr: Multiaddr | string): Multiaddr {
  const ma = typeof addr === 'string' ? multiaddr(addr) : addr
  const last = ma.getComponents().at(-1)
  return last?.code === P2P ? ma.decapsulateCode(P2P) : ma
}

/** The address ending in /p2p/<peer>, ready to dial. */
export function withPeerId (addr: Multiaddr | string, peer: PeerId | string): Multiaddr {
  return withoutPeerId(addr).encapsulate(`/p2p/${String(peer)}`)
}

/** Parses what can be parsed, dropping the rest (addresses from disk or from peers). */
export function parseAddrs (addrs: Iterable<string>): Multiaddr[] {
  const out: Multiaddr[] = []
  for (const a of addrs) {
    try { out.push(multiaddr(a)) } catch {}
  }
  return out
}

/** Loopback addresses last: they are useless to another machine but are all a test node has. */
export function loopbackLast (addrs: Multiaddr[]): Multiaddr[] {
  const isLoopback = (ma: Multiaddr): boolean => {
    const c = ma.getComponents()[0]
    return (c?.name === 'ip4' && c.value?.startsWith('127.') === true) || (c?.name === 'ip6' && c.value === '::1')
  }
  return [...addrs.filter((a) => !isLoopback(a)), ...addrs.filter(isLoopback)]
}
