import {
  HoldfastError, IntegrityError, NotFoundError, PeerNotTrustedError, ProtocolError, QuotaExceededError,
  StoreUnavailableError, TooLargeError, UsageError
} from '../errors.js'
import { MAX_ERROR_MESSAGE } from './constants.js'
import type { ErrorReply, WireError } from './messages.js'

/**
 * Errors on the wire: the code is the name of the project's error class, from a fixed list. A host sends only
 * these; any other failure goes out as `StoreUnavailableError` with a fixed message (a host's paths and
 * internals are none of the peer's business). A client turns a code back into its class; an unknown code is a
 * ProtocolError.
 */
const WIRE_ERRORS: Record<string, typeof HoldfastError> = {
  NotFoundError,
  QuotaExceededError,
  IntegrityError,
  ProtocolError,
  TooLargeError,
  UsageError,
  PeerNotTrustedError,
  StoreUnavailableError
}

export const WIRE_ERROR_CODES: readonly string[] = Object.keys(WIRE_ERRORS)

export function errorReply (err: unknown): ErrorReply {
  const known = err instanceof HoldfastError && Object.hasOwn(WIRE_ERRORS, err.name)
  const error: WireError = known
    ? { code: err.name, message: err.message.slice(0, MAX_ERROR_MESSAGE) }
    : { code: 'StoreUnavailableError', message: 'the host could not complete the request' }
  return { ok: false, error }
}

/** The error a client throws for an ErrorReply from `peer`. */
export function errorFromWire (error: WireError, peer: string): HoldfastError {
  const cls = Object.hasOwn(WIRE_ERRORS, error.code) ? WIRE_ERRORS[error.code] : undefined
  if (cls == null) return new ProtocolError(`peer ${peer} answered with an unknown error code ${JSON.stringify(error.code)}: ${error.message}`)
  return new cls(`peer ${peer}: ${error.message}`)
}
