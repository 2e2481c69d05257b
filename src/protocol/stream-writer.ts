import type { Stream, StreamCloseEvent } from '@libp2p/interface'
import { AbortedError, StoreUnavailableError } from '../errors.js'
import { DATA_CHUNK_SIZE } from './constants.js'
import { encodeFrame } from './frame.js'

/**
 * Writes to a libp2p 3 stream honouring its backpressure: after each piece, while more than one piece is
 * still queued in the stream, wait (bounded by the signal) for the muxer to take some.
 *
 * Why not `await stream.onDrain()`: in @libp2p/utils 7.4.1 its promise is never reset once resolved, so after
 * the first drain it returns at once and a sender piles everything into the stream's unbounded write buffer.
 * And yamux dispatches 'drain' on every window update, however small, so one 'drain' does not mean the queue
 * is short. Hence: listen for 'drain'/'idle' and look at `writeBufferLength` again each time.
 *
 * The stream keeps references to what it was given until the bytes are out, so callers must not reuse a
 * buffer they passed in.
 */

/** Bytes a writer leaves queued in a stream before it waits for the muxer. */
export const WRITE_QUEUE_LIMIT = DATA_CHUNK_SIZE

export async function sendBytes (stream: Stream, data: Uint8Array, signal?: AbortSignal): Promise<void> {
  for (let at = 0; at < data.length; at += DATA_CHUNK_SIZE) {
    await sendPiece(stream, data.subarray(at, at + DATA_CHUNK_SIZE), signal)
  }
}

export async function sendPiece (stream: Stream, piece: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) throw new AbortedError('write aborted', { cause: signal.reason })
  stream.send(piece)
  while (stream.writeBufferLength > WRITE_QUEUE_LIMIT) await progress(stream, signal)
}

export async function sendMessage (stream: Stream, message: unknown, signal?: AbortSignal, maxFrame?: number): Promise<void> {
  await sendPiece(stream, encodeFrame(message, maxFrame), signal)
}

/** Resolves when the stream took bytes from its queue (or sent them all); rejects when it closes or on abort. */
async function progress (stream: Stream, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) throw new AbortedError('write aborted', { cause: signal.reason })
  if (stream.status !== 'open') throw new StoreUnavailableError(`stream ${stream.status} while sending`)
  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', onProgress)
      stream.removeEventListener('idle', onProgress)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
    }
    const onProgress = (): void => { done(); resolve() }
    const onClose = (evt: StreamCloseEvent): void => { done(); reject(evt.error ?? new StoreUnavailableError('stream closed while sending')) }
    const onAbort = (): void => { done(); reject(new AbortedError('write aborted', { cause: signal?.reason })) }
    stream.addEventListener('drain', onProgress)
    stream.addEventListener('idle', onProgress)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}
