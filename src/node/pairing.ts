import { randomBytes } from 'node:crypto'
import { TypedEventEmitter } from '@libp2p/interface'
import type { AbortOptions, Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { AbortedError, ConfigError, PairingError } from '../errors.js'
import { loopbackLast, parseAddrs, withPeerId, withoutPeerId } from './addresses.js'
import type { TrustGate } from './gater.js'
import { decodeInvite, encodeInvite, INVITE_ID_BYTES, INVITE_SECRET_BYTES, MAX_INVITE_ADDRS } from './invite-code.js'
import { InviteStore, type PendingInvite } from './invite-store.js'
import { MAX_PAIR_MESSAGE, NONCE_BYTES, readMessage, refusedMessage, writeMessage, type RejectReason } from './pairing-messages.js'
import { pairingProof, proofMatches, type PairingRole } from './pairing-proof.js'
import { isValidLabel, MAX_LABEL_LENGTH, type NodeProfile } from './profile.js'
import type { TrustEntry, TrustList } from './trust-list.js'

/**
 * Pairing: how two nodes come to trust each other. The inviter creates a one-line code
 * (invite-code.ts) and hands it over out of band; the acceptor dials the inviter with it and both run
 * /holdfast/pair/1.0.0 (pairing-messages.ts): each proves it knows the invite's secret
 * (pairing-proof.ts), they exchange names, sites and the quota each grants, and each adds the other to
 * its trust list. The inviter commits first (trust entry, invite marked used), then acknowledges, then
 * the acceptor commits. A wrong secret, an unknown, expired or used invite, a malformed message or a
 * timeout fails with a PairingError on both sides and adds nothing.
 *
 * The inviter's gate lets unknown peers connect while an invite can be answered; the acceptor's gate
 * lets it dial the inviter for one handshake (see gater.ts). After a pairing the acceptor closes the
 * pairing connection: the next one (presence dials it) is a normal trusted connection on which
 * identify and the DHT run, which they were refused on the provisional one. (The inviter trusts the
 * acceptor a moment before that close, so its presence may report the peer online, offline, then
 * online again within reconnect.minMs.)
 */
export const PAIR_PROTOCOL = '/holdfast/pair/1.0.0'

/** Longest a pairing may take, dial included (default). */
export const DEFAULT_PAIRING_TIMEOUT_MS = 30_000

/**
 * After a reject, how long the inviter waits for the acceptor to read the reason and end the stream
 * before it resets the stream and closes a stranger's connection. Closing at once lost the reject now
 * and then on a busy machine: the acceptor saw its stream end with no reason ("broke off the pairing
 * handshake") instead of "the invite has expired".
 */
export const REJECT_LINGER_MS = 5_000

export type PairingNode = Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol' | 'getMultiaddrs' | 'hangUp'>

export interface PairingServiceInit {
  node: PairingNode
  home: string
  trust: TrustList
  gate: TrustGate
  /** This node's name and site, told to the peer. */
  profile: NodeProfile
  /** Default lifetime of an invite (config.inviteExpirySeconds). */
  inviteExpirySeconds?: number
  /** Longest a pairing may take, on either side. */
  timeoutMs?: number
  /** Clock, for tests. */
  now?: () => number
}

export interface CreateInviteOptions {
  /** Bytes granted to whoever accepts. */
  quota: number
  /** What this node will call the peer that accepts (default: the name it announces). */
  name?: string
  /** Lifetime in seconds (default: the configured inviteExpirySeconds). */
  expirySeconds?: number
  /** Addresses written into the code (default: this node's current addresses). */
  addrs?: string[]
  /** An invite for a second device of this node's owner, with this role (quota is then 0). */
  device?: 'read' | 'write'
}

export interface AcceptInviteOptions extends AbortOptions {
  /** Bytes granted to the inviter. */
  quota: number
  /** What this node will call the inviter (default: the name it announces). */
  name?: string
}

export interface PairingCompleted { peerId: PeerId, entry: TrustEntry, role: PairingRole }
export interface PairingFailed { peerId?: PeerId, error: Error, role: PairingRole }

export interface PairingEvents {
  'pairing:completed': CustomEvent<PairingCompleted>
  'pairing:failed': CustomEvent<PairingFailed>
}

export class PairingService extends TypedEventEmitter<PairingEvents> {
  private readonly init: PairingServiceInit
  private readonly timeoutMs: number
  private readonly now: () => number
  private invites?: InviteStore
  private running = false
  private shutdown = new AbortController()
  private readonly busy = new Set<string>()
  private readonly inflight = new Set<Promise<unknown>>()

  constructor (init: PairingServiceInit) {
    super()
    this.init = init
    this.timeoutMs = init.timeoutMs ?? DEFAULT_PAIRING_TIMEOUT_MS
    this.now = init.now ?? Date.now
  }

  isStarted (): boolean { return this.running }

  /** Loads the pending invites, opens the gate's invite window and serves the pairing protocol. */
  async start (): Promise<void> {
    if (this.running) return
    this.invites ??= await InviteStore.open(this.init.home, { now: this.now })
    this.shutdown = new AbortController()
    await this.init.node.handle(PAIR_PROTOCOL, this.onStream, { maxInboundStreams: 4, maxOutboundStreams: 4, runOnLimitedConnection: true })
    const invites = this.invites
    this.init.gate.setInviteWindow(() => this.running && invites.windowOpen())
    this.running = true
  }

  /** Closes the invite window, stops serving and waits for handshakes in progress to end (aborted). */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.init.gate.setInviteWindow(() => false)
    this.shutdown.abort(new AbortedError('pairing service stopped'))
    await this.init.node.unhandle(PAIR_PROTOCOL).catch(() => {})
    await Promise.allSettled([...this.inflight])
    await this.invites?.flush()
  }

  /** Creates an invite and returns its one-line code. */
  async createInvite (options: CreateInviteOptions): Promise<string> {
    const invites = this.requireRunning()
    if (!Number.isSafeInteger(options.quota) || options.quota < 0) throw new ConfigError('invite quota must be a non-negative integer number of bytes')
    if (options.name != null && !isValidLabel(options.name)) throw new ConfigError(`peer name must be 1-${MAX_LABEL_LENGTH} printable characters`)
    const seconds = options.expirySeconds ?? this.init.inviteExpirySeconds ?? 86400
    if (!(seconds > 0)) throw new ConfigError('invite expiry must be a positive number of seconds')
    const addrs = options.addrs ?? loopbackLast(this.init.node.getMultiaddrs()).map((a) => withoutPeerId(a).toString())
    if (addrs.length === 0) throw new PairingError('this node has no address to put in an invite (is it listening?)')
    const invite: PendingInvite = {
      id: randomBytes(INVITE_ID_BYTES).toString('hex'),
      secret: randomBytes(INVITE_SECRET_BYTES).toString('hex'),
      expires: this.now() + Math.round(seconds * 1000),
      quota: options.quota,
      createdAt: new Date(this.now()).toISOString()
    }
    if (options.name != null) invite.name = options.name
    if (options.device != null) invite.device = options.device
    const code = encodeInvite({
      id: invite.id,
      peerId: this.init.node.peerId.toString(),
      addrs: addrs.slice(0, MAX_INVITE_ADDRS),
      secret: Buffer.from(invite.secret, 'hex'),
      expires: invite.expires,
      name: this.init.profile.name,
      site: this.init.profile.site
    })
    await invites.add(invite)
    return code
  }

  /** Invites that can still be answered. */
  listInvites (): Array<Omit<PendingInvite, 'secret'>> {
    return this.requireRunning().listOpen().map(({ secret: _, ...rest }) => rest)
  }

  /** Withdraws an invite; returns whether it existed. */
  async cancelInvite (id: string): Promise<boolean> {
    return await this.requireRunning().remove(id)
  }

  /**
   * Pairs with the node that made `code`: dials it, runs the handshake and, once the inviter has
   * committed, adds it to the trust list. Returns the new trust entry; PairingError otherwise.
   */
  async acceptInvite (code: string, options: AcceptInviteOptions): Promise<TrustEntry> {
    this.requireRunning()
    if (!Number.isSafeInteger(options.quota) || options.quota < 0) throw new ConfigError('quota must be a non-negative integer number of bytes')
    if (options.name != null && !isValidLabel(options.name)) throw new ConfigError(`peer name must be 1-${MAX_LABEL_LENGTH} printable characters`)
    const invite = decodeInvite(code)
    const inviter = peerIdFromString(invite.peerId)
    const fail = (error: Error): Error => {
      this.safeDispatchEvent('pairing:failed', { detail: { peerId: inviter, error, role: 'acceptor' } })
      return error
    }
    if (invite.expires <= this.now()) throw fail(new PairingError(`the invite expired at ${new Date(invite.expires).toISOString()}`))
    if (inviter.equals(this.init.node.peerId)) throw fail(new PairingError('this invite was made by this node'))

    const signals = [this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)]
    if (options.signal != null) signals.push(options.signal)
    const signal = AbortSignal.any(signals)
    const wasMember = this.init.gate.isMember(inviter)
    const release = this.init.gate.allowPeer(inviter, this.timeoutMs + 5_000)
    const task = this.runAcceptor(invite.secret, invite.id, inviter, parseAddrs(invite.addrs), options, signal, wasMember)
    this.inflight.add(task)
    try {
      const entry = await task
      this.safeDispatchEvent('pairing:completed', { detail: { peerId: inviter, entry, role: 'acceptor' } })
      return entry
    } catch (err) {
      if (!wasMember) await this.init.node.hangUp(inviter).catch(() => {})
      throw fail(err instanceof PairingError ? err : new PairingError(`pairing failed: ${(err as Error).message}`, { cause: err }))
    } finally {
      this.inflight.delete(task)
      release()
    }
  }

  private async runAcceptor (secret: Uint8Array, inviteId: string, inviter: PeerId, addrs: ReturnType<typeof parseAddrs>, options: AcceptInviteOptions, signal: AbortSignal, wasMember: boolean): Promise<TrustEntry> {
    const self = this.init.node.peerId
    let stream: Stream
    try {
      stream = await this.init.node.dialProtocol(addrs.map((a) => withPeerId(a, inviter)), PAIR_PROTOCOL, { signal, runOnLimitedConnection: true })
    } catch (err) {
      if (signal.aborted) throw new PairingError('pairing timed out or was cancelled while dialling the inviter', { cause: err })
      throw new PairingError(`cannot reach the inviter ${inviter.toString()}: it is offline, unreachable at the addresses in the code, or refused the connection (an invite it no longer answers for) - ${(err as Error).message}`, { cause: err })
    }
    const lp = lpStream(stream, { maxDataLength: MAX_PAIR_MESSAGE })
    try {
      const nonceA = new Uint8Array(randomBytes(NONCE_BYTES))
      await writeMessage(lp, { t: 'hello', invite: inviteId, nonce: nonceA }, { signal })
      const challenge = await readMessage(lp, 'challenge', 'inviter', { signal })
      const { profile } = this.init
      await writeMessage(lp, {
        t: 'proof',
        mac: pairingProof(secret, 'acceptor', inviter, self, nonceA, challenge.nonce),
        name: profile.name,
        site: profile.site,
        quota: options.quota,
        addrs: this.ownAddrs()
      }, { signal })
      const confirm = await readMessage(lp, 'confirm', 'inviter', { signal })
      if (!proofMatches(confirm.mac, pairingProof(secret, 'inviter', inviter, self, nonceA, challenge.nonce))) {
        await this.reject(lp, stream, 'bad-proof', signal)
        throw new PairingError(refusedMessage('bad-proof'))
      }
      await writeMessage(lp, { t: 'done' }, { signal })
      await readMessage(lp, 'ack', 'inviter', { signal })
      await stream.close({ signal }).catch(() => {})
      // The connection was provisional on both sides (identify and the DHT were refused on it): drop
      // it before trusting the inviter, so that presence opens a normal one instead of reusing it.
      if (!wasMember) await this.init.node.hangUp(inviter, { signal }).catch(() => {})
      const entry = await this.init.trust.add({
        peerId: inviter.toString(),
        name: options.name ?? confirm.name,
        site: confirm.site,
        quotaGranted: options.quota,
        quotaReceived: confirm.quota,
        addresses: addrs.map((a) => withoutPeerId(a).toString())
      })
      return entry
    } catch (err) {
      if (stream.status === 'open') stream.abort(err as Error)
      throw err
    }
  }

  /** The inviter's side of the handshake, for one incoming stream. */
  private readonly onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const task = this.answer(stream, connection)
    this.inflight.add(task)
    try { await task } finally { this.inflight.delete(task) }
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)])
    const lp = lpStream(stream, { maxDataLength: MAX_PAIR_MESSAGE })
    let locked: string | undefined
    let rejected = false
    try {
      const invites = this.requireRunning()
      const self = this.init.node.peerId
      const hello = await readMessage(lp, 'hello', 'acceptor', { signal })
      const invite = invites.get(hello.invite)
      let refusal: RejectReason | undefined
      if (invite == null) refusal = 'unknown-invite'
      else if (invite.usedAt != null) refusal = 'used'
      else if (invite.expires <= this.now()) refusal = 'expired'
      else if (this.busy.has(invite.id)) refusal = 'busy'
      if (invite == null || refusal != null) {
        rejected = await this.reject(lp, stream, refusal ?? 'unknown-invite', signal)
        throw new PairingError(refusedMessage(refusal ?? 'unknown-invite'))
      }
      locked = invite.id
      this.busy.add(locked)
      const secret = Buffer.from(invite.secret, 'hex')
      const nonceB = new Uint8Array(randomBytes(NONCE_BYTES))
      await writeMessage(lp, { t: 'challenge', nonce: nonceB }, { signal })
      const proof = await readMessage(lp, 'proof', 'acceptor', { signal })
      if (!proofMatches(proof.mac, pairingProof(secret, 'acceptor', self, remote, hello.nonce, nonceB))) {
        rejected = await this.reject(lp, stream, 'wrong-secret', signal)
        throw new PairingError(refusedMessage('wrong-secret'))
      }
      const { profile } = this.init
      await writeMessage(lp, {
        t: 'confirm',
        mac: pairingProof(secret, 'inviter', self, remote, hello.nonce, nonceB),
        name: profile.name,
        site: profile.site,
        quota: invite.quota
      }, { signal })
      await readMessage(lp, 'done', 'acceptor', { signal })
      // commit: the acceptor adds us only once it has our ack
      const entry = await this.init.trust.add({
        peerId: remote.toString(),
        name: invite.name ?? proof.name,
        site: proof.site,
        quotaGranted: invite.quota,
        quotaReceived: proof.quota,
        addresses: parseAddrs(proof.addrs).map((a) => withoutPeerId(a).toString()),
        // a second device of this node's owner: trusted as such, never a host
        ...(invite.device != null ? { deviceOf: self.toString(), role: invite.device, quotaGranted: 0, quotaReceived: 0 } : {})
      })
      await invites.markUsed(invite.id, remote.toString())
      await writeMessage(lp, { t: 'ack' }, { signal })
      await stream.close({ signal }).catch(() => {})
      this.safeDispatchEvent('pairing:completed', { detail: { peerId: remote, entry, role: 'inviter' } })
    } catch (err) {
      const error = err instanceof PairingError ? err : new PairingError(`pairing failed: ${(err as Error).message}`, { cause: err })
      // a reject was sent and our side closed: give the acceptor the time to read it and end the stream
      if (rejected) await ended(stream, REJECT_LINGER_MS, this.shutdown.signal)
      if (stream.status === 'open') stream.abort(error)
      // a stranger's provisional connection ends with its failed handshake
      if (!this.init.gate.isMember(remote) && connection.status === 'open') {
        await connection.close({ signal: AbortSignal.timeout(2_000) }).catch(() => { connection.abort(error) })
      }
      this.safeDispatchEvent('pairing:failed', { detail: { peerId: remote, error, role: 'inviter' } })
    } finally {
      if (locked != null) this.busy.delete(locked)
    }
  }

  /** Sends a reject and half-closes; the peer reads the reason before the stream ends. Returns whether it was sent. */
  private async reject (lp: LengthPrefixedStream, stream: Stream, reason: RejectReason, signal: AbortSignal): Promise<boolean> {
    try {
      await writeMessage(lp, { t: 'reject', reason }, { signal })
      await stream.close({ signal })
      return true
    } catch {
      return false
    }
  }

  private ownAddrs (): string[] {
    return loopbackLast(this.init.node.getMultiaddrs()).slice(0, 16).map((a) => withoutPeerId(a).toString())
  }

  private requireRunning (): InviteStore {
    if (!this.running || this.invites == null) throw new PairingError('the pairing service is not running')
    return this.invites
  }
}

/** Resolves when the stream has closed (the remote ended or reset it), after `ms`, or on abort. */
async function ended (stream: Stream, ms: number, signal: AbortSignal): Promise<void> {
  if (stream.status !== 'open' || signal.aborted) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      stream.removeEventListener('close', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    stream.addEventListener('close', done)
    signal.addEventListener('abort', done)
  })
}
