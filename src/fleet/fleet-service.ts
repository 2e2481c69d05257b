import { join } from 'node:path'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { AbortedError, ForbiddenError, HoldfastError, PeerUnreachableError, ProtocolError } from '../errors.js'
import type { TrustGate } from '../node/gater.js'
import { JsonFile } from '../node/json-file.js'
import type { TrustList } from '../node/trust-list.js'
import { FLEET_PROTOCOL, MAX_FLEET_MESSAGE, MAX_FLEET_SESSIONS, parseFleetAnswer, parseFleetRequest, type FleetAction, type FleetAnswer, type FleetRequest } from './fleet-messages.js'
import { answerOnce, requestOnce } from '../node/one-exchange.js'
import { FleetSession, FleetStatus, parseFleetJson, type FleetMember } from './fleet-status.js'
import Type from 'typebox'

/**
 * /holdfast/fleet/1.0.0 on every node:
 * - as a node of an office: answers the peers it granted the admin role (trust entry `admin`) with its
 *   status and session reports, and starts a backup, an audit or a repair they ask for; anyone else gets
 *   the error `not-admin`. It never sends data, keys or the passphrase: only what FleetStatus says.
 * - as the admin: asks every trusted node (hosts, not devices) for its status; those that answer are the
 *   fleet. A node that withdraws the role answers `not-admin` from then on and is dropped; a node that does
 *   not answer stays listed, offline, with the last status seen (HOME/fleet.json).
 */
export interface FleetNodeView {
  status: () => Promise<FleetStatus>
  sessions: (limit: number) => Promise<FleetSession[]>
  run: (action: FleetAction, set: string | undefined) => Promise<{ id: string }>
}

export interface FleetServiceInit {
  node: Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol'>
  home: string
  trust: TrustList
  gate: TrustGate
  view: FleetNodeView
  onError?: (err: unknown, what: string) => void
  /** Longest an admin's call waits for one node (default 10 s). */
  timeoutMs?: number
}

interface Known { name: string, site: string, seen: string, status: FleetStatus }

const SessionList = Type.Array(FleetSession, { maxItems: MAX_FLEET_SESSIONS })

export class FleetService {
  private running = false
  private shutdown = new AbortController()
  private readonly inflight = new Set<Promise<unknown>>()
  private readonly file: JsonFile
  private known?: Record<string, Known>
  private readonly timeoutMs: number

  constructor (private readonly init: FleetServiceInit) {
    this.file = new JsonFile(join(init.home, 'fleet.json'))
    this.timeoutMs = init.timeoutMs ?? 10_000
  }

  async start (): Promise<void> {
    if (this.running) return
    this.shutdown = new AbortController()
    const doc = await this.file.read().catch(() => undefined) as { members?: Record<string, Known> } | undefined
    this.known = doc?.members ?? {}
    await this.init.node.handle(FLEET_PROTOCOL, (stream, connection) => { this.track(this.answer(stream, connection)) }, { maxInboundStreams: 8, runOnLimitedConnection: true })
    this.running = true
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.shutdown.abort(new AbortedError('the fleet service is stopping'))
    await this.init.node.unhandle(FLEET_PROTOCOL).catch(() => {})
    await Promise.allSettled([...this.inflight])
    await this.file.flush()
  }

  /** Admin side: every node that granted this node the admin role, with its status (offline ones: the last seen). */
  async members (signal?: AbortSignal): Promise<FleetMember[]> {
    const known = this.known ?? {}
    const nodes = this.init.trust.hosts()
    const results = await Promise.all(nodes.map(async (e): Promise<FleetMember | undefined> => {
      try {
        const answer = await this.ask(e.peerId, { t: 'status' }, signal)
        if (answer.t !== 'status') throw new ProtocolError('fleet protocol: a status request answered with no status')
        const status = parseFleetJson<FleetStatus>(FleetStatus, answer.json, 'status')
        const seen = new Date().toISOString()
        known[e.peerId] = { name: e.name, site: e.site, seen, status }
        return { peerId: e.peerId, name: e.name, site: e.site, online: true, seen, status }
      } catch (err) {
        if (err instanceof ForbiddenError) { delete known[e.peerId]; return undefined }
        if (signal?.aborted === true) throw err
        const last = known[e.peerId]
        if (last == null) return undefined
        if (!(err instanceof PeerUnreachableError)) this.init.onError?.(err, `fleet status of ${e.name}`)
        return { peerId: e.peerId, name: e.name, site: e.site, online: false, seen: last.seen, status: last.status }
      }
    }))
    // a node no longer trusted here is no longer in the fleet either
    for (const id of Object.keys(known)) if (!nodes.some(e => e.peerId === id)) delete known[id]
    this.known = known
    await this.file.write({ version: 1, members: known })
    return results.filter((m): m is FleetMember => m != null).sort((a, b) => a.site.localeCompare(b.site) || a.name.localeCompare(b.name))
  }

  /** Admin side: a node's latest session reports. */
  async sessions (peer: string, limit: number, signal?: AbortSignal): Promise<FleetSession[]> {
    const answer = await this.ask(this.member(peer), { t: 'sessions', limit: Math.min(Math.max(1, limit), MAX_FLEET_SESSIONS) }, signal)
    if (answer.t !== 'sessions') throw new ProtocolError('fleet protocol: a sessions request answered with no sessions')
    return parseFleetJson<FleetSession[]>(SessionList, answer.json, 'session list')
  }

  /** Admin side: starts a backup (of a set), an audit or a repair on a node; its id shows in the node's jobs. */
  async run (peer: string, action: FleetAction, set: string | undefined, signal?: AbortSignal): Promise<{ id: string }> {
    const answer = await this.ask(this.member(peer), { t: 'run', action, ...(set != null ? { set } : {}) }, signal)
    if (answer.t !== 'run') throw new ProtocolError('fleet protocol: a run request answered with no run')
    return { id: answer.id }
  }

  /** A trusted node by peer id or name. */
  private member (peer: string): string {
    const e = this.init.trust.hosts().find(h => h.peerId === peer || h.name === peer)
    if (e == null) throw new ForbiddenError(`${peer} is not a node of this fleet`)
    return e.peerId
  }

  private track (p: Promise<unknown>): void {
    this.inflight.add(p)
    void p.finally(() => this.inflight.delete(p))
  }

  private async ask (peer: string, request: FleetRequest, signal?: AbortSignal): Promise<Exclude<FleetAnswer, { t: 'error' }>> {
    const s = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs), ...(signal != null ? [signal] : [])])
    let answer: FleetAnswer
    try {
      answer = parseFleetAnswer(await requestOnce(this.init.node, peerIdFromString(peer), FLEET_PROTOCOL, MAX_FLEET_MESSAGE, request, s))
    } catch (err) {
      if (err instanceof HoldfastError) throw err
      throw new PeerUnreachableError(`node ${peer} is unreachable or did not answer: ${(err as Error).message}`, { cause: err })
    }
    if (answer.t === 'error') {
      if (answer.code === 'not-admin') throw new ForbiddenError(`node ${peer} has not granted this node the admin role`)
      throw new HoldfastError(`node ${peer}: ${answer.message}`)
    }
    return answer
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const remote = connection.remotePeer.toString()
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.timeoutMs)])
    try {
      await answerOnce(stream, FLEET_PROTOCOL, MAX_FLEET_MESSAGE, signal, async message => {
        const request = parseFleetRequest(message)
        if (!this.init.gate.isTrusted(remote) || this.init.trust.get(remote)?.admin !== true) {
          return { t: 'error', code: 'not-admin', message: 'this node has not granted you the admin role' }
        }
        try {
          return await this.serve(request)
        } catch (err) {
          return { t: 'error', code: (err as Error).name.slice(0, 64), message: String((err as Error).message).slice(0, 1000) }
        }
      })
    } catch (err) {
      if (!signal.aborted) this.init.onError?.(err, `fleet request from ${remote}`)
    }
  }

  private async serve (request: FleetRequest): Promise<FleetAnswer> {
    const { view } = this.init
    if (request.t === 'status') return { t: 'status', json: JSON.stringify(await view.status()) }
    if (request.t === 'sessions') return { t: 'sessions', json: JSON.stringify(await view.sessions(request.limit)) }
    return { t: 'run', ...await view.run(request.action, request.set) }
  }
}
