import { AbortedError } from '../errors.js'

/** Throws AbortedError (with the signal's reason as cause) when the signal has aborted. */
export function checkAbort (signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortedError('operation aborted', { cause: signal.reason })
}
