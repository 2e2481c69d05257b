import type { Connection, Startable, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { ObjectKind } from '../store/shard-store.js'
import { AbortedError, HoldfastError, PeerNotTrustedError, ProtocolError } from '../errors.js'
import { deadline } from '../util/deadline.js'
import {
  LIST_BATCH_SIZE, MAX_CONTROL_FRAME, MAX_ERROR_MESSAGE, MAX_OBJECT_SIZE, MAX_PROOF_FRAME, SHARD_PROTOCOL, Request, StreamReader, errorReply, parseRequest, sendMessage,
  sendPiece
} from '../protocol/index.js'
import type { HostStore } from './host-store.js'

/** What the service needs of a libp2p node: a node itself, or a service's `components.registrar`. */
export interface ProtocolRegistrar {
  handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
  unhandle: (protocol: string) => Promise<void>
}

export interface ShardServiceInit {
  /** Where requests are served from; the service neither opens nor closes it. */
  store: Pick<HostStore, 'beginPut' | 'openRead' | 'has' | 'list' | 'delete' | 'usage' | 'prove' | 'damaged' | 'quarantine' | 'release'>
  /** Streams of this protocol open at once per connection (default 16). */
  maxInboundStreams?: number
  /** Time for a request's first frame to arrive, and for a reply's end to be acknowledged (default 10 s). */
  requestTimeout?: number
  /** Time for any whole request besides the transfer of its bytes (default 30 s). */
  timeout?: number
  /** Slowest transfer rate allowed, in bytes per second: a transfer gets timeout + size / this (default 256 KiB/s). */
  minTransferRate?: number
  /**
   * Whose objects a request that names an owner (`as`) reaches: the owner's when the asker is a device
   * that owner granted this op, else a PeerNotTrustedError. Without it, `as` is refused.
   */
  authorize?: (asker: string, owner: string, op: Request['op'], kind?: ObjectKind) => void
  /**
   * Told of every stream reset and every unexpected failure on this side; not of refusals answered by name
   * (not found, quota, ...). The service itself writes no log.
   */
  onError?: (err: unknown, peer: string) => void
}

export const SHARD_SERVICE_DEFAULTS: Required<Omit<ShardServiceInit, 'store' | 'onError' | 'authorize'>> = {
  maxInboundStreams: 16,
  requestTimeout: 10_000,
  timeout: 30_000,
  minTransferRate: 256 * 1024
}

/**
 * Serves /holdfast/shard/1.0.0 from a host store. The owner of every request is the connection's remote
 * peer, so a peer reaches only its own namespace; trust and quotas are the store's to check.
 *
 * One request per stream. Errors the protocol names (not found, quota, integrity, ...) are answered with an
 * error reply and the stream ends cleanly; a malformed or oversized message, a timeout or the service
 * stopping resets that stream only. Nothing a peer sends can throw out of the handler.
 *
 * start() registers the handler, stop() removes it, aborts the requests under way and waits for them; both
 * are harmless to repeat, and stop() before start() does nothing.
 */
export class ShardService implements Startable {
  private readonly opts: Required<Omit<ShardServiceInit, 'store' | 'onError' | 'authorize'>>
  private started = false
  private shutdown = new AbortController()
  private readonly inFlight = new Set<Promise<void>>()

  constructor (private readonly registrar: ProtocolRegistrar, private readonly init: ShardServiceInit) {
    this.opts = {
      maxInboundStreams: init.maxInboundStreams ?? SHARD_SERVICE_DEFAULTS.maxInboundStreams,
      requestTimeout: init.requestTimeout ?? SHARD_SERVICE_DEFAULTS.requestTimeout,
      timeout: init.timeout ?? SHARD_SERVICE_DEFAULTS.timeout,
      minTransferRate: init.minTransferRate ?? SHARD_SERVICE_DEFAULTS.minTransferRate
    }
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.shutdown = new AbortController()
    await this.registrar.handle(SHARD_PROTOCOL, (stream, connection) => { this.accept(stream, connection) }, {
      maxInboundStreams: this.opts.maxInboundStreams,
      runOnLimitedConnection: true
    })
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.registrar.unhandle(SHARD_PROTOCOL)
    this.shutdown.abort(new AbortedError('the shard service is stopping'))
    await Promise.allSettled([...this.inFlight])
  }

  /** Requests being served right now. */
  get activeRequests (): number {
    return this.inFlight.size
  }

  private accept (stream: Stream, connection: Connection): void {
    if (!this.started) {
      stream.abort(new AbortedError('the shard service is stopped'))
      return
    }
    const p = this.serve(stream, connection.remotePeer.toString())
    this.inFlight.add(p)
    void p.finally(() => this.inFlight.delete(p))
  }

  private async serve (stream: Stream, owner: string): Promise<void> {
    const reader = new StreamReader(stream)
    const first = deadline(this.opts.requestTimeout, this.shutdown.signal)
    let whole: ReturnType<typeof deadline> | undefined
    try {
      const request = parseRequest(await reader.readMessage(MAX_CONTROL_FRAME, first.signal))
      first.clear()
      // bytes that may cross the stream: what a put announced, at most what a get may return
      const size = request.op === 'put' ? request.size : request.op === 'get' ? Math.min(request.length ?? MAX_OBJECT_SIZE, MAX_OBJECT_SIZE) : 0
      whole = deadline(this.opts.timeout + Math.ceil(1000 * size / this.opts.minTransferRate), this.shutdown.signal)
      await this.dispatch(stream, reader, owner, request, whole.signal)
      await stream.close({ signal: whole.signal })
      // one request per stream: wait (briefly) for the peer to end its side, refusing anything more
      const end = deadline(this.opts.requestTimeout, this.shutdown.signal)
      try { await reader.expectEnd(end.signal) } finally { end.clear() }
    } catch (err) {
      const error = err instanceof Error ? err : new ProtocolError(String(err))
      if (reportable(error)) this.init.onError?.(error, owner)
      stream.abort(error)
    } finally {
      first.clear()
      whole?.clear()
      reader.dispose()
    }
  }

  /** Answers one request. Errors with a wire code become an error reply; others propagate (and reset). */
  private async dispatch (stream: Stream, reader: StreamReader, asker: string, request: Request, signal: AbortSignal): Promise<void> {
    const store = this.init.store
    const reply = async (message: unknown): Promise<void> => { await sendMessage(stream, message, signal) }
    let rawBytesSent = false // once a get's bytes flow, no error reply can follow: the stream is reset instead
    let owner = asker
    try {
      const as = (request as { as?: string }).as
      if (as != null && as !== asker) {
        if (this.init.authorize == null) throw new PeerNotTrustedError('this host serves no device of another peer')
        this.init.authorize(asker, as, request.op, (request as { kind?: ObjectKind }).kind)
        owner = as
      }
      switch (request.op) {
        case 'put': {
          const pending = await store.beginPut(owner, request.kind, request.name, request.size, { signal })
          if (pending == null) {
            await reply({ ok: true, send: false })
            return
          }
          try {
            await reply({ ok: true, send: true })
          } catch (err) {
            pending.cancel()
            throw err
          }
          const body = async function * (): AsyncGenerator<Uint8Array> {
            yield * reader.readChunks(request.size, signal)
            await reader.expectEnd(signal) // nothing after the announced bytes, before anything is committed
          }
          const stored = await pending.write(body(), { signal })
          await reply({ ok: true, stored })
          return
        }
        case 'get': {
          await reader.expectEnd(signal)
          const object = await store.openRead(owner, request.kind, request.name, { offset: request.offset, length: request.length }, { signal })
          try {
            await reply({ ok: true, size: object.size })
            rawBytesSent = true
            for await (const chunk of object.chunks(signal)) await sendPiece(stream, chunk, signal)
          } finally {
            await object.close()
          }
          return
        }
        case 'has':
          await reader.expectEnd(signal)
          await reply({ ok: true, has: await store.has(owner, request.kind, request.name, { signal }) })
          return
        case 'list':
          await reader.expectEnd(signal)
          await this.sendList(owner, request.kind, reply, signal)
          return
        case 'delete':
          await reader.expectEnd(signal)
          await reply({ ok: true, freed: await store.delete(owner, request.kind, request.name, { signal }) })
          return
        case 'quarantine':
          await reader.expectEnd(signal)
          await reply({ ok: true, freed: await store.quarantine(owner, request.kind, request.name, request.graceSeconds * 1000, { signal }) })
          return
        case 'release':
          await reader.expectEnd(signal)
          await reply({ ok: true, released: await store.release(owner, request.kind, request.name, { signal }) })
          return
        case 'usage': {
          await reader.expectEnd(signal)
          const u = await store.usage(owner, { signal })
          await reply({ ok: true, objects: u.objects, bytes: u.bytes, quota: Math.min(u.quota, Number.MAX_SAFE_INTEGER) })
          return
        }
        case 'damaged': {
          await reader.expectEnd(signal)
          const all = await store.damaged(owner, { signal })
          for (let at = 0; at === 0 || at < all.length; at += LIST_BATCH_SIZE) {
            const items = all.slice(at, at + LIST_BATCH_SIZE).map(d => ({ kind: d.kind, name: d.name, at: d.at, reason: d.reason.slice(0, MAX_ERROR_MESSAGE) }))
            await reply({ ok: true, items, done: at + LIST_BATCH_SIZE >= all.length })
          }
          return
        }
        case 'prove': {
          await reader.expectEnd(signal)
          const { nonce, segmentSize, indices } = request
          const answer = await store.prove(owner, request.kind, request.name, { nonce, segmentSize, indices }, { signal })
          await sendMessage(stream, { ok: true, nonce: answer.nonce, proofs: answer.proofs }, signal, MAX_PROOF_FRAME)
        }
      }
    } catch (err) {
      if (rawBytesSent || !answerable(err) || signal.aborted || stream.writeStatus !== 'writable') throw err
      if (!(err instanceof HoldfastError)) this.init.onError?.(err, owner) // a host-side failure, not a refusal
      await reply(errorReply(err))
    }
  }

  private async sendList (owner: string, kind: ObjectKind, reply: (m: unknown) => Promise<void>, signal: AbortSignal): Promise<void> {
    let batch: string[] = []
    for await (const name of this.init.store.list(owner, kind, { signal })) {
      batch.push(name)
      if (batch.length === LIST_BATCH_SIZE) {
        await reply({ ok: true, names: batch, done: false })
        batch = []
      }
    }
    await reply({ ok: true, names: batch, done: true })
  }
}

/**
 * What the host reports of a request that ended in an error: its own failures (anything not a HoldfastError)
 * and a peer's malformed messages. A refusal (untrusted, over quota, not found, ...) is the answer to the request
 * even when the peer hung up before it could be sent (a node finishing a pairing asks again), and a peer that
 * hung up or reset its stream, before or after asking, did nothing wrong here.
 */
function reportable (err: Error): boolean {
  return !(err instanceof HoldfastError) || err.name === 'ProtocolError'
}

/**
 * Errors that end a request with an error reply (the project's conditions by name, anything else as a bare
 * StoreUnavailableError): all but a ProtocolError or an abort, which reset the stream (the peer broke the
 * protocol, or the request is no longer worth an answer).
 */
function answerable (err: unknown): boolean {
  return !(err instanceof HoldfastError && (err.name === 'ProtocolError' || err.name === 'AbortedError'))
}

/** A libp2p service factory: `services: { shards: shardService({ store }) }`. */
export function shardService (init: ShardServiceInit): (components: { registrar: ProtocolRegistrar }) => ShardService {
  return (components) => new ShardService(components.registrar, init)
}
