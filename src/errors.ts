/**
 * One error class per condition. Each sets `name`, so callers and tests match on `err.name`
 * rather than on message text. `exitCode` is what the CLI exits with when the error reaches it.
 */
export class HoldfastError extends Error {
  readonly exitCode: number = 1
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'HoldfastError'
  }
}

function define (name: string, exitCode = 1): typeof HoldfastError {
  const cls = class extends HoldfastError {
    override readonly exitCode = exitCode
    constructor (message: string, options?: { cause?: unknown }) {
      super(message, options)
      this.name = name
    }
  }
  Object.defineProperty(cls, 'name', { value: name })
  return cls
}

/** The passphrase does not open any key of the repository. */
export const WrongPassphraseError = define('WrongPassphraseError', 12)
/** Authenticated decryption failed: the bytes were altered or belong to another key. */
export const TamperedDataError = define('TamperedDataError')
/** Bytes fetched from a store do not hash to the name they were asked for. */
export const IntegrityError = define('IntegrityError')
/** A store holds no object of that name. */
export const NotFoundError = define('NotFoundError')
/** A store cannot be reached at all (directory gone, peer offline). */
export const StoreUnavailableError = define('StoreUnavailableError')
/** Fewer than k good shards are left for a pack. */
export const PackUnrecoverableError = define('PackUnrecoverableError')
/** The repository or home does not exist where it was expected. */
export const RepositoryNotFoundError = define('RepositoryNotFoundError', 10)
/** A repository already exists where init was asked to create one. */
export const RepositoryExistsError = define('RepositoryExistsError')
/** The stored format is newer or otherwise unknown to this version. */
export const UnsupportedFormatError = define('UnsupportedFormatError')
/** Invalid parameters or configuration. */
export const ConfigError = define('ConfigError', 2)
/** Invalid command-line usage. */
export const UsageError = define('UsageError', 2)
/** Another process holds the repository lock. */
export const LockedError = define('LockedError', 11)
/** A snapshot, path or object asked for by the user does not exist. */
export const NoSuchSnapshotError = define('NoSuchSnapshotError')
/**
 * Not enough stores or peers are available to place k+m shards on distinct ones, or (when the caller asked
 * to fail rather than reduce the spread) no placement keeps every site at m shards of a pack or fewer.
 */
export const PlacementError = define('PlacementError')
/** A path given to back up does not exist. */
export const SourceNotFoundError = define('SourceNotFoundError')
/** This node's role does not allow the operation (a device with read access asked to write, prune or repair). */
export const RoleError = define('RoleError', 14)
/** The operation was cancelled through its AbortSignal. */
export const AbortedError = define('AbortedError', 130)
/** A message or object is larger than its bound. */
export const TooLargeError = define('TooLargeError')
/** A host refuses an object because the owner's quota would be exceeded. */
export const QuotaExceededError = define('QuotaExceededError')
/** The daemon holds no passphrase for the repository: none is configured for it and none was given (dashboard unlock). */
export const PassphraseNeededError = define('PassphraseNeededError', 12)
/** The operation needs the repository's keys, and it was opened without its passphrase (maintenance). */
export const RepositoryLockedError = define('RepositoryLockedError')
/** A peer sent a message that breaks the wire protocol (malformed, oversized, out of order). */
export const ProtocolError = define('ProtocolError')
/** A host refuses a peer that is not on its trust list. */
export const PeerNotTrustedError = define('PeerNotTrustedError')
/** Pairing with a peer failed: wrong secret, expired, unknown or already used invite, or a broken handshake. */
export const PairingError = define('PairingError')
/** The node's identity key is missing, unreadable or not an Ed25519 key. */
export const IdentityError = define('IdentityError')
/** The peer is not on the trust list. */
export const UnknownPeerError = define('UnknownPeerError')
/** The command needs the node's daemon (a peers repository, peer management), and none runs for the home. */
export const DaemonNotRunningError = define('DaemonNotRunningError', 13)
/** A trusted peer could not be reached: not at its known addresses, and not found through the DHT. */
export const PeerUnreachableError = define('PeerUnreachableError')
/** A configured relay cannot hold a reservation for this node (it offers no relaying, or this node has no relay transport). */
export const RelayUnavailableError = define('RelayUnavailableError')
/** The command whose output a backup stores (`--stdin-from-command`) could not start, exited non-zero or was killed: no snapshot. */
export const SourceCommandFailedError = define('SourceCommandFailedError')
/** A session hook (pre or post command) failed: non-zero exit, killed, or past its timeout. */
export const HookFailedError = define('HookFailedError')
/** A session summary could not be delivered (webhook or SMTP). */
export const NotificationError = define('NotificationError')
/** A retention policy without any rule (it would remove every snapshot). */
export const EmptyPolicyError = define('EmptyPolicyError', 2)
/** A retention policy with a count that is not a positive whole number or -1. */
export const InvalidPolicyError = define('InvalidPolicyError', 2)
/** A cron expression is malformed or can never match; the message names the field and value at fault. */
export const CronError = define('CronError', 2)
/** A bandwidth window in the config cannot be read. */
export const InvalidWindowError = define('InvalidWindowError', 2)
/** A recovery kit cannot be read (malformed, incomplete, another version), or recovery cannot proceed from it. */
export const RecoveryKitError = define('RecoveryKitError')
/** A seed (shards carried on a disk) cannot be written or taken in: no such peer, bad manifest, wrong host, untrusted owner. */
export const SeedError = define('SeedError')
/** The register does not reflect every record on the stores (a rebuild could not read some): prune refuses to decide what is unused. */
export const IncompleteRegisterError = define('IncompleteRegisterError')
/** The backup scheduler's state file (HOME/schedule.json) cannot be read or is not valid; the sets start afresh. */
export const ScheduleStateError = define('ScheduleStateError')
/** A web request carries no valid credentials: no session, a wrong GUI password, a wrong API key. */
export const UnauthorizedError = define('UnauthorizedError')
/** A web request is authenticated but not allowed: no CSRF token, a foreign Host or Origin. */
export const ForbiddenError = define('ForbiddenError')
/** Too many failed sign-ins from one address: wait and try again (the HTTP answer says how long in Retry-After). */
export const TooManyRequestsError = define('TooManyRequestsError')
/** The operation conflicts with one under way (a backup set already running a session, a set edited while one runs). */
export const BusyError = define('BusyError')
/** The file system refuses this process access to a path (EACCES, EPERM). */
export const PermissionDeniedError = define('PermissionDeniedError')
/** A healthchecks-style ping (backup.sets[].ping) was not answered with a 2xx status in time. */
export const PingFailedError = define('PingFailedError')
/** Neither node:zlib (Node >= 22.15) nor the optional zstd-napi addon (built with a C toolchain) offers zstd here. */
export const ZstdUnavailableError = define('ZstdUnavailableError')
