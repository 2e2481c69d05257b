import type { AbortOptions, PeerId, Stream } from '@libp2p/interface'
import { DamagedReport, GetOptions, OBJECT_KINDS, ObjectKind, ProveAnswer, ProveRequest, ShardStore, StoreCallOptions, StoreRhythm, StoreUsage } from '../store/shard-store.js'
import { isObjectName } from '../store/hash-name.js'
import { AbortedError, HoldfastError, ProtocolError, StoreUnavailableError, TooLargeError, UsageError } from '../errors.js'
import { Deadline, deadline } from '../util/deadline.js'
import {
  ErrorReply, MAX_CONTROL_FRAME, MAX_OBJECT_SIZE, MAX_PROOF_FRAME, Request, SHARD_PROTOCOL, StreamReader, errorFromWire,
  parseDeleteReply, parseQuarantineReply, parseReleaseReply, parseGetHeader, parseHasReply, parseListBatch, parsePutDone, parsePutReady, parseProveReply, parseUsageReply, parseDamagedBatch,
  sendBytes, sendMessage
} from '../protocol/index.js'

/** What the store needs of a libp2p node. */
export interface ProtocolDialer {
  dialProtocol: (peer: PeerId, protocols: string | string[], options?: AbortOptions & { runOnLimitedConnection?: boolean }) => Promise<Stream>
}

/** Where the owner side records what a peer keeps for it (the host store's reciprocity ledger fits). */
export interface StoredByRecorder {
  recordStoredBy: (peer: string, usage: StoreUsage) => Promise<void>
  addStoredBy: (peer: string, delta: StoreUsage) => Promise<void>
}

export interface PeerShardStoreInit {
  /** Time for any call besides the transfer of its bytes, dial included (default 30 s). */
  timeout?: number
  /** Slowest transfer rate allowed, in bytes per second: a transfer gets timeout + size / this (default 256 KiB/s). */
  minTransferRate?: number
  /** Told of every put that stored bytes, every delete that freed some, and every usage reply. */
  ledger?: StoredByRecorder
  /** Whether the peer is seen online (presence); the store's `reachable` hint. */
  online?: () => boolean
  /** When the peer was last seen (ms since the epoch), for the time it has been away. */
  lastSeen?: () => number | undefined
  /** The peer's usual absence and how long it has been watched absent (presence, trust list). */
  rhythm?: () => StoreRhythm | undefined
  /** What the peer lets us keep there and we keep there now (bytes), for placement. */
  room?: () => number | undefined
  /** What the user calls the peer (the trust list's name), for reports. */
  label?: string
  /** The site the peer stands at (its failure domain), for placement. */
  site?: string
  /** Reach another node's objects (`as` on every request): this node is a device of that owner. */
  as?: string
}

export interface PeerUsage extends StoreUsage {
  /** What the peer lets this node keep there, in bytes. */
  quota: number
}

export const PEER_STORE_DEFAULTS = {
  timeout: 30_000,
  minTransferRate: 256 * 1024
}

/**
 * A shard store on one remote peer, reached over /holdfast/shard/1.0.0 (one stream per call). It passes the
 * same behavioural suite as the local stores. A peer that cannot be dialled, stops answering, or goes away
 * mid-call gives StoreUnavailableError; the host's refusals come back as the project's error classes
 * (NotFoundError, QuotaExceededError, IntegrityError, PeerNotTrustedError, TooLargeError, ...); a reply that
 * breaks the protocol is a ProtocolError. Nothing read is verified (callers verify), but no reply may be
 * larger than what was asked.
 */
export class PeerShardStore implements ShardStore {
  readonly id: string
  private readonly peerName: string
  private readonly timeout: number
  private readonly minTransferRate: number
  private readonly closing = new AbortController()
  private closed = false

  constructor (private readonly node: ProtocolDialer, readonly peer: PeerId, private readonly init: PeerShardStoreInit = {}) {
    this.peerName = peer.toString()
    this.id = `peer:${this.peerName}`
    this.timeout = init.timeout ?? PEER_STORE_DEFAULTS.timeout
    this.minTransferRate = init.minTransferRate ?? PEER_STORE_DEFAULTS.minTransferRate
  }

  get label (): string | undefined { return this.init.label }

  /** The `as` of a request, for a device reaching its owner's objects. */
  private owner (): { as?: string } {
    return this.init.as != null ? { as: this.init.as } : {}
  }
  get site (): string | undefined { return this.init.site }

  freeBytes (): number | undefined {
    return this.init.room?.()
  }

  offlineSince (): number | undefined {
    return this.reachable() ? undefined : this.init.lastSeen?.()
  }

  rhythm (): StoreRhythm | undefined {
    return this.reachable() ? undefined : this.init.rhythm?.()
  }

  reachable (): boolean {
    return !this.closed && (this.init.online?.() ?? true)
  }

  async put (kind: ObjectKind, name: string, data: Uint8Array, options: StoreCallOptions = {}): Promise<void> {
    checkObject(kind, name)
    if (data.length > MAX_OBJECT_SIZE) throw new TooLargeError(`an object of ${data.length} bytes exceeds the protocol's limit of ${MAX_OBJECT_SIZE}`)
    const stored = await this.call({ op: 'put', kind, name, size: data.length, ...this.owner() }, data.length, options, async (stream, reader, signal) => {
      const ready = expectOk(parsePutReady(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName)
      if (!ready.send) {
        await stream.close({ signal })
        return 0
      }
      await sendBytes(stream, data, signal)
      await stream.close({ signal })
      return expectOk(parsePutDone(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName).stored
    })
    if (stored > 0) await this.record(async l => { await l.addStoredBy(this.peerName, { objects: 1, bytes: stored }) })
  }

  async get (kind: ObjectKind, name: string, options: GetOptions = {}): Promise<Uint8Array> {
    checkObject(kind, name)
    const { offset, length } = options
    if (offset != null && (!Number.isSafeInteger(offset) || offset < 0)) throw new UsageError(`invalid offset: ${offset}`)
    if (length != null && (!Number.isSafeInteger(length) || length < 0)) throw new UsageError(`invalid length: ${length}`)
    const request: Request = { op: 'get', kind, name, ...(offset != null ? { offset } : {}), ...(length != null ? { length } : {}), ...this.owner() }
    const bound = Math.min(length ?? MAX_OBJECT_SIZE, MAX_OBJECT_SIZE)
    return await this.call(request, bound, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      const { size } = expectOk(parseGetHeader(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName)
      if (size > bound) throw new ProtocolError(`peer ${this.peerName} announced ${size} bytes where at most ${bound} were asked`)
      return await reader.readExact(size, signal)
    })
  }

  async has (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    checkObject(kind, name)
    return await this.call({ op: 'has', kind, name, ...this.owner() }, 0, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      return expectOk(parseHasReply(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName).has
    })
  }

  async * list (kind: ObjectKind, options: StoreCallOptions = {}): AsyncIterable<string> {
    checkKind(kind)
    // names arrive in batches; one stream for the whole listing, each batch read under its own deadline
    const { stream, reader, limit } = await this.open({ op: 'list', kind, ...this.owner() }, options)
    let done = false
    try {
      await stream.close({ signal: limit.signal })
      let last = ''
      while (!done) {
        const batch = expectOk(parseListBatch(await reader.readMessage(MAX_CONTROL_FRAME, limit.signal)), this.peerName)
        for (const name of batch.names) {
          if (name <= last) throw new ProtocolError(`peer ${this.peerName} listed names out of order`)
          last = name
        }
        done = batch.done
        if (done) await reader.expectEnd(limit.signal)
        limit.clear()
        yield * batch.names
        if (!done) limit.renew()
      }
    } catch (err) {
      throw this.failure(err, stream, limit, options.signal)
    } finally {
      limit.clear()
      reader.dispose()
      if (!done) stream.abort(new AbortedError('listing abandoned'))
    }
  }

  async delete (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<void> {
    checkObject(kind, name)
    const freed = await this.call({ op: 'delete', kind, name, ...this.owner() }, 0, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      return expectOk(parseDeleteReply(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName).freed
    })
    if (freed > 0) await this.record(async l => { await l.addStoredBy(this.peerName, { objects: -1, bytes: -freed }) })
  }

  /** The host takes the object out of use and deletes it after the grace (ShardStore.quarantine). */
  async quarantine (kind: ObjectKind, name: string, graceMs: number, options: StoreCallOptions = {}): Promise<void> {
    checkObject(kind, name)
    const graceSeconds = Math.max(0, Math.ceil(graceMs / 1000))
    const freed = await this.call({ op: 'quarantine', kind, name, graceSeconds, ...this.owner() }, 0, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      return expectOk(parseQuarantineReply(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName).freed
    })
    if (freed > 0) await this.record(async l => { await l.addStoredBy(this.peerName, { objects: -1, bytes: -freed }) })
  }

  /** Asks the host to bring the object back from quarantine; false when it has none. */
  async release (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    checkObject(kind, name)
    const released = await this.call({ op: 'release', kind, name, ...this.owner() }, 0, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      return expectOk(parseReleaseReply(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName).released
    })
    // the object counts on the host again: the ledger takes the host's own figures (the reply has no size)
    if (released && this.init.ledger != null) await this.peerUsage(options).catch(() => {})
    return released
  }

  /** What the host's scrub found corrupt among our objects (and removed). */
  async damaged (options: StoreCallOptions = {}): Promise<DamagedReport[]> {
    return await this.call({ op: 'damaged', ...this.owner() }, 0, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      const out: DamagedReport[] = []
      for (;;) {
        const batch = expectOk(parseDamagedBatch(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName)
        out.push(...batch.items)
        if (batch.done) return out
      }
    })
  }

  /** An audit: the host proves the segments asked for (the caller verifies them). */
  async prove (kind: ObjectKind, name: string, request: ProveRequest, options: StoreCallOptions = {}): Promise<ProveAnswer> {
    checkObject(kind, name)
    const { nonce, segmentSize, indices } = request
    return await this.call({ op: 'prove', kind, name, nonce, segmentSize, indices, ...this.owner() }, 0, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      const reply = expectOk(parseProveReply(await reader.readMessage(MAX_PROOF_FRAME, signal)), this.peerName)
      return { nonce: reply.nonce, proofs: reply.proofs }
    })
  }

  async usage (options: StoreCallOptions = {}): Promise<StoreUsage> {
    const { objects, bytes } = await this.peerUsage(options)
    return { objects, bytes }
  }

  /** What this node keeps on the peer, and the quota the peer grants it. */
  async peerUsage (options: StoreCallOptions = {}): Promise<PeerUsage> {
    const reply = await this.call({ op: 'usage', ...this.owner() }, 0, options, async (stream, reader, signal) => {
      await stream.close({ signal })
      return expectOk(parseUsageReply(await reader.readMessage(MAX_CONTROL_FRAME, signal)), this.peerName)
    })
    const usage = { objects: reply.objects, bytes: reply.bytes, quota: reply.quota }
    await this.record(async l => { await l.recordStoredBy(this.peerName, { objects: usage.objects, bytes: usage.bytes }) })
    return usage
  }

  /**
   * Bookkeeping after a call that succeeded on the peer: a failure to record must not turn it into a failed
   * call (a retried put would store nothing new and never be counted); the next usage reply corrects the figures.
   */
  private async record (fn: (ledger: StoredByRecorder) => Promise<void>): Promise<void> {
    if (this.init.ledger == null) return
    try { await fn(this.init.ledger) } catch {}
  }

  /** Aborts the calls under way; later calls fail with StoreUnavailableError. Harmless twice. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.closing.abort(new AbortedError(`store ${this.id} is closed`))
  }

  /** One request on its own stream: `exchange` runs the rest of the conversation under the call's deadline. */
  private async call<T> (request: Request, bytes: number, options: StoreCallOptions, exchange: (stream: Stream, reader: StreamReader, signal: AbortSignal) => Promise<T>): Promise<T> {
    const { stream, reader, limit } = await this.open(request, options, bytes)
    try {
      const result = await exchange(stream, reader, limit.signal)
      await reader.expectEnd(limit.signal)
      return result
    } catch (err) {
      throw this.failure(err, stream, limit, options.signal)
    } finally {
      limit.clear()
      reader.dispose()
    }
  }

  /** Dials a stream for `request` and sends it, under a deadline that `renew()` restarts. */
  private async open (request: Request, options: StoreCallOptions, bytes = 0): Promise<{ stream: Stream, reader: StreamReader, limit: Deadline & { renew: () => void } }> {
    if (options.signal?.aborted === true) throw new AbortedError('operation aborted', { cause: options.signal.reason })
    if (this.closed) throw new StoreUnavailableError(`store ${this.id} is closed`)
    const ms = this.timeout + Math.ceil(1000 * bytes / this.minTransferRate)
    let current = deadline(ms, options.signal, this.closing.signal)
    const limit = {
      get signal () { return current.signal },
      get timedOut () { return current.timedOut },
      clear: () => { current.clear() },
      renew: () => { current.clear(); current = deadline(ms, options.signal, this.closing.signal) }
    }
    let stream: Stream
    try {
      stream = await this.node.dialProtocol(this.peer, SHARD_PROTOCOL, { signal: limit.signal, runOnLimitedConnection: true })
    } catch (err) {
      limit.clear()
      throw this.failure(err, undefined, limit, options.signal)
    }
    const reader = new StreamReader(stream)
    try {
      await sendMessage(stream, request, limit.signal)
    } catch (err) {
      limit.clear()
      reader.dispose()
      throw this.failure(err, stream, limit, options.signal)
    }
    return { stream, reader, limit }
  }

  /** Resets the stream and says what went wrong in the project's terms. */
  private failure (err: unknown, stream: Stream | undefined, limit: Deadline, signal?: AbortSignal): Error {
    const error = signal?.aborted === true
      ? new AbortedError('operation aborted', { cause: signal.reason })
      : limit.timedOut
        ? new StoreUnavailableError(`peer ${this.peerName} did not answer in time`, { cause: err })
        : this.closed
          ? new StoreUnavailableError(`store ${this.id} is closed`, { cause: err })
          : err instanceof HoldfastError && err.name !== 'AbortedError'
            ? err
            : new StoreUnavailableError(`peer ${this.peerName} is unreachable: ${(err as Error)?.message ?? String(err)}`, { cause: err })
    if (stream != null && stream.status === 'open') stream.abort(error)
    return error
  }
}

function expectOk<T> (reply: T | ErrorReply, peer: string): T {
  if ((reply as ErrorReply).ok === false) throw errorFromWire((reply as ErrorReply).error, peer)
  return reply as T
}

function checkKind (kind: ObjectKind): void {
  if (!OBJECT_KINDS.includes(kind)) throw new UsageError(`unknown object kind: ${String(kind)}`)
}

function checkObject (kind: ObjectKind, name: string): void {
  checkKind(kind)
  if (typeof name !== 'string' || !isObjectName(name)) throw new UsageError(`invalid object name: ${String(name).slice(0, 80)}`)
}
