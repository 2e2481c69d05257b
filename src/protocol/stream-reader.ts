import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { AbortedError, ProtocolError, StoreUnavailableError } from '../errors.js'
import { decodeBody, varintLength } from './frame.js'
import { DATA_CHUNK_SIZE, READ_HIGH_WATER, STREAM_READ_BUFFER_LIMIT } from './constants.js'

/**
 * Reads frames and raw bytes from a libp2p 3 stream with backpressure: past `highWater` unread bytes it
 * pauses the stream (yamux then stops granting window to the sender) and resumes once the reader has taken
 * it below half. Every wait takes an AbortSignal. One consumer at a time.
 *
 * A stream reset or aborted while reading rejects with the stream's error; a clean end in the middle of a
 * frame or of announced bytes is a StoreUnavailableError (the other side went away or gave up); bytes that
 * break the framing are a ProtocolError.
 */
export class StreamReader {
  private readonly queue: Uint8Array[] = []
  private buffered = 0
  private failure: Error | undefined
  private wake: (() => void) | undefined
  private disposed = false
  private pauseCheck = false

  constructor (private readonly stream: Stream, private readonly highWater = READ_HIGH_WATER) {
    // a paused stream must not be reset by libp2p for holding what the sender's window still allowed
    if (stream.maxReadBufferLength < STREAM_READ_BUFFER_LIMIT) stream.maxReadBufferLength = STREAM_READ_BUFFER_LIMIT
    if (stream.status === 'reset' || stream.status === 'aborted') this.failure = new StoreUnavailableError(`stream ${stream.status}`)
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('remoteCloseWrite', this.onEvent)
    stream.addEventListener('close', this.onClose)
  }

  private readonly onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data
    if (data instanceof Uint8Array) this.push(data)
    else for (const buf of data) this.push(buf)
    // Not from inside this dispatch: when it comes from resume(), which hands over what the stream held while
    // paused, resume() tells the muxer to send window updates again right after it, undoing a pause made here
    // (@libp2p/utils 7.4.1) - and the sender would then be granted window without end. A microtask runs
    // after resume() has returned and before any further data can arrive.
    if (!this.pauseCheck) {
      this.pauseCheck = true
      queueMicrotask(this.maybePause)
    }
    this.notify()
  }

  private readonly maybePause = (): void => {
    this.pauseCheck = false
    if (this.buffered > this.highWater && this.stream.readStatus === 'readable') this.stream.pause()
  }

  private readonly onEvent = (): void => { this.notify() }

  private readonly onClose = (evt: StreamCloseEvent): void => {
    if (evt.error != null) this.failure ??= evt.error
    this.notify()
  }

  private push (buf: Uint8Array): void {
    if (buf.length === 0) return
    this.queue.push(buf)
    this.buffered += buf.length
  }

  private notify (): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** True when no byte is left here or in the stream and none will come. */
  private get ended (): boolean {
    return this.buffered === 0 && this.stream.readBufferLength === 0 &&
      (this.stream.remoteWriteStatus !== 'writable' || this.stream.readStatus === 'closed' || this.stream.status !== 'open')
  }

  /** Waits for a message, the end of the stream or its failure. */
  private async wait (signal?: AbortSignal): Promise<void> {
    if (this.failure != null) throw this.failure
    if (signal?.aborted === true) throw new AbortedError('read aborted', { cause: signal.reason })
    if (this.disposed) throw new StoreUnavailableError('stream reader disposed')
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.wake = undefined
        reject(new AbortedError('read aborted', { cause: signal?.reason }))
      }
      this.wake = () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }
      signal?.addEventListener('abort', onAbort, { once: true })
    })
    if (this.failure != null) throw this.failure
  }

  /** Takes up to `max` bytes already here (at least one byte must be buffered). */
  private take (max: number): Uint8Array {
    let out: Uint8Array
    const first = this.queue[0]
    if (first.length > max) {
      out = first.subarray(0, max)
      this.queue[0] = first.subarray(max)
    } else if (first.length === max || this.queue.length === 1) {
      out = first
      this.queue.shift()
    } else {
      // gather small messages into one piece so the consumer does fewer, larger writes
      const size = Math.min(max, this.buffered)
      const joined = new Uint8Array(size)
      let at = 0
      while (at < size) {
        const head = this.queue[0]
        const n = Math.min(head.length, size - at)
        joined.set(head.subarray(0, n), at)
        at += n
        if (n === head.length) this.queue.shift()
        else this.queue[0] = head.subarray(n)
      }
      out = joined
    }
    this.buffered -= out.length
    if (this.buffered <= this.highWater / 2 && this.stream.readStatus === 'paused') {
      try { this.stream.resume() } catch {} // closing meanwhile: nothing more will come anyway
    }
    return out
  }

  /** Exactly `n` bytes, copied into one buffer. */
  async readExact (n: number, signal?: AbortSignal): Promise<Uint8Array> {
    const out = new Uint8Array(n)
    let at = 0
    while (at < n) {
      if (this.buffered === 0) {
        if (this.failure != null) throw this.failure
        if (this.ended) throw new StoreUnavailableError(`stream ended after ${at} of ${n} bytes`)
        await this.wait(signal)
        continue
      }
      const piece = this.take(n - at)
      out.set(piece, at)
      at += piece.length
    }
    return out
  }

  /**
   * The next frame's body, or null when the stream ends cleanly before its first byte. A length above `max`
   * is refused before the body is read.
   */
  async readFrame (max: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    const maxPrefix = varintLength(max)
    let length = 0
    let scale = 1
    for (let i = 0; ; i++) {
      while (this.buffered === 0) {
        if (this.failure != null) throw this.failure
        if (this.ended) {
          if (i === 0) return null
          throw new StoreUnavailableError('stream ended inside a frame length')
        }
        await this.wait(signal)
      }
      const byte = this.take(1)[0]
      length += (byte & 0x7f) * scale
      scale *= 0x80
      if ((byte & 0x80) === 0) break
      if (i + 1 >= maxPrefix) throw new ProtocolError(`frame length prefix longer than ${maxPrefix} bytes`)
    }
    if (length > max) throw new ProtocolError(`frame of ${length} bytes exceeds the limit of ${max}`)
    return await this.readExact(length, signal)
  }

  /** The next frame, decoded (not yet validated); an end before it is a StoreUnavailableError. */
  async readMessage (max: number, signal?: AbortSignal): Promise<unknown> {
    const body = await this.readFrame(max, signal)
    if (body == null) throw new StoreUnavailableError('stream ended before the expected message')
    return decodeBody(body)
  }

  /** Exactly `total` bytes as pieces of at most `maxChunk`; an end before them is a StoreUnavailableError. */
  async * readChunks (total: number, signal?: AbortSignal, maxChunk = DATA_CHUNK_SIZE): AsyncGenerator<Uint8Array> {
    let left = total
    while (left > 0) {
      if (this.buffered === 0) {
        if (this.failure != null) throw this.failure
        if (this.ended) throw new StoreUnavailableError(`stream ended after ${total - left} of ${total} bytes`)
        await this.wait(signal)
        continue
      }
      const piece = this.take(Math.min(left, maxChunk))
      left -= piece.length
      yield piece
    }
  }

  /** Waits for the remote to end its side; any further byte is a ProtocolError. */
  async expectEnd (signal?: AbortSignal): Promise<void> {
    while (true) {
      if (this.buffered > 0) throw new ProtocolError('unexpected bytes after the last message')
      if (this.failure != null) throw this.failure
      if (this.ended) return
      await this.wait(signal)
    }
  }

  /** Detaches from the stream; unread bytes are dropped. */
  dispose (): void {
    if (this.disposed) return
    this.disposed = true
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('remoteCloseWrite', this.onEvent)
    this.stream.removeEventListener('close', this.onClose)
    this.queue.length = 0
    this.buffered = 0
    this.notify()
  }
}
