import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Libp2p, Stream } from '@libp2p/interface'
import { HostStore, QuotaLookup } from '../../src/host/host-store.js'
import { ShardService, ShardServiceInit } from '../../src/host/shard-service.js'

/**
 * Minimal libp2p nodes on 127.0.0.1 for the shard protocol tests (TCP, noise, yamux, nothing else), and a
 * host: a node serving a HostStore in a temporary home.
 */
export async function makeNode (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

/** Tells `from` where `to` listens, so it can dial `to` by peer id. */
export async function introduce (from: Libp2p, to: Libp2p): Promise<void> {
  await from.peerStore.patch(to.peerId, { multiaddrs: to.getMultiaddrs() })
}

export async function tempHome (): Promise<string> {
  return await mkdtemp(join(tmpdir(), 'holdfast-net-test-'))
}

export interface Host {
  node: Libp2p
  store: HostStore
  service: ShardService
  home: string
  /** Stops the service and the node, closes the store and removes the home. */
  destroy: () => Promise<void>
}

export const BIG_QUOTA = 1024 ** 4

export async function startHost (quotaFor: QuotaLookup = () => BIG_QUOTA, init: Partial<ShardServiceInit> = {}): Promise<Host> {
  const home = await tempHome()
  const store = await HostStore.open(home, { quotaFor, durable: false })
  const node = await makeNode()
  const service = new ShardService(node, { store, ...init })
  await service.start()
  const host: Host = {
    node,
    store,
    service,
    home,
    destroy: async () => {
      await host.service.stop()
      await host.node.stop()
      await host.store.close() // a test may have swapped in another store
      await rm(home, { recursive: true, force: true })
    }
  }
  return host
}

/** Resolves with the stream's status once it is closed, or 'still open' after `ms`. */
export async function closedStatus (stream: Stream, ms = 5000): Promise<string> {
  if (stream.status !== 'open') return stream.status
  return await new Promise<string>(resolve => {
    const timer = setTimeout(() => { resolve('still open') }, ms)
    stream.addEventListener('close', () => {
      clearTimeout(timer)
      resolve(stream.status)
    }, { once: true })
  })
}
