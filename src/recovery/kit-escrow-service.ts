import { readFile } from 'node:fs/promises'
import { parseKeyFile } from '../crypto/keys.js'
import { kitSecretOf } from '../crypto/kit-escrow.js'
import { AbortedError } from '../errors.js'
import { homePaths } from '../home/home.js'
import { identityPath } from '../node/identity.js'
import type { TrustList } from '../node/trust-list.js'
import { kitEscrowSealer, syncSealedKeyFile } from '../repository/key-record.js'
import { hashName } from '../store/hash-name.js'
import type { ShardStore } from '../store/shard-store.js'
import { RetryBackoff } from '../util/retry-backoff.js'
import { kitReaderPeerId } from './kit-reader.js'

/** A host that failed is tried again after 5 s, 10 s, 20 s, ... this many times. */
const RETRY_ATTEMPTS = 6
const RETRY_BASE_MS = 5_000

export interface KitEscrowServiceInit {
  home: string
  /** This node's peer id. */
  self: string
  /** This node's site (the kit reader's trust entry carries it). */
  site: string
  trust: TrustList
  /** A store for each host of ours (ids `peer:<peer id>`). */
  stores: () => ShardStore[]
  /** Tells the hosts of this node's devices (the kit reader is one): device-service.ts. */
  tellHosts: () => Promise<unknown>
  onError?: (err: unknown, what: string) => void
}

export interface EscrowReport {
  /** Hosts of this node. */
  hosts: number
  /** Hosts known to keep the current key file's escrow. */
  holding: number
  /** Hosts that could not be given it now (offline ones get it when next seen). */
  problems: string[]
}

/**
 * The owner side of the kit escrow (crypto/kit-escrow.ts), for a node whose repository is on its peers:
 * names the kit reader to the hosts (a device entry with the `kit` role, told like every device), and keeps
 * on each host the current key file sealed under the kit secret: at start, whenever a host comes online,
 * and when asked after a key change or before a kit is made (publish). Needs no passphrase: the kit secret
 * comes from the node's identity, the key file is read as it is (already wrapped).
 */
export class KitEscrowService {
  private running = false
  private shutdown = new AbortController()
  /** store id -> hash of the key file whose escrow it holds (known since this start) */
  private readonly held = new Map<string, string>()
  private chain: Promise<unknown> = Promise.resolve()
  /** reachable hosts that refused or failed, tried again later (store ids) */
  private readonly retries = new RetryBackoff({
    attempts: RETRY_ATTEMPTS,
    baseMs: RETRY_BASE_MS,
    retry: ids => { if (this.running) this.background(ids.map(id => id.replace(/^peer:/, ''))) }
  })

  constructor (private readonly init: KitEscrowServiceInit) {}

  async start (): Promise<void> {
    if (this.running) return
    this.running = true
    this.shutdown = new AbortController()
    await this.ensureReader()
    this.background()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.retries.cancel()
    this.shutdown.abort(new AbortedError('the kit escrow service is stopping'))
    await this.chain.catch(() => {})
  }

  /** A host came online: it gets the escrow if it has not got the current one yet. */
  peerOnline (peer: string): void {
    if (this.running) this.background([peer])
  }

  /** Puts the current escrow on every reachable host now (or those named); one round at a time. */
  async publish (options: { peers?: string[], signal?: AbortSignal } = {}): Promise<EscrowReport> {
    const round = this.chain.catch(() => {}).then(async () => await this.round(options))
    this.chain = round
    return await round
  }

  private background (peers?: string[]): void {
    // a host that was reachable but refused or failed (one still finishing a pairing, say) is tried again
    // after 5 s, doubling, RETRY_ATTEMPTS times; then when it next comes online
    void this.publish({ peers }).then(() => { if (this.running) this.retries.schedule() }, err => { if (this.running) this.init.onError?.(err, 'keeping the kit escrow on the hosts') })
  }

  /** The kit reader is one of this node's devices, with the `kit` role, told to every host. */
  private async ensureReader (): Promise<void> {
    const reader = await kitReaderPeerId(await readFile(identityPath(this.init.home)))
    const e = this.init.trust.get(reader)
    if (e == null || e.revoked === true || e.role !== 'kit' || e.deviceOf !== this.init.self) {
      await this.init.trust.add({ peerId: reader, name: 'recovery kit', site: this.init.site, quotaGranted: 0, quotaReceived: 0, deviceOf: this.init.self, role: 'kit' })
    }
    void this.init.tellHosts().catch(err => this.init.onError?.(err, 'telling hosts of the recovery kit'))
  }

  private async round (options: { peers?: string[], signal?: AbortSignal }): Promise<EscrowReport> {
    const signal = AbortSignal.any([this.shutdown.signal, ...(options.signal != null ? [options.signal] : [])])
    const keyBytes = await readFile(homePaths(this.init.home).key)
    const generation = parseKeyFile(keyBytes).generation
    const current = hashName(keyBytes)
    const sealer = kitEscrowSealer(kitSecretOf(await readFile(identityPath(this.init.home))))
    const all = this.init.stores()
    const chosen = options.peers == null ? all : all.filter(s => options.peers!.some(p => s.id === `peer:${p}`))
    const problems: string[] = []
    await Promise.all(chosen.map(async store => {
      if (this.held.get(store.id) === current) return
      if (store.reachable?.() === false) { problems.push(`${store.label ?? store.id}: offline (it gets them when next seen)`); return }
      try {
        await syncSealedKeyFile(store, sealer, keyBytes, generation, { signal })
        this.held.set(store.id, current)
        this.retries.succeeded(store.id)
      } catch (err) {
        if (signal.aborted) throw err
        this.retries.failed(store.id)
        problems.push(`${store.label ?? store.id}: ${(err as Error).message}`)
      }
    }))
    return { hosts: all.length, holding: all.filter(s => this.held.get(s.id) === current).length, problems }
  }
}
