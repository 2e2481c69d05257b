import { UsageError } from '../errors.js'
import { parseSize } from '../util/format.js'
import type { ApiRoute } from './api-routes.js'
import type { Peer } from './api-schemas.js'
import type { Invite } from './settings-schemas.js'

/** Pairing from the dashboard: the calls the CLI's `peers invite | accept | revoke` make (daemon/peer-actions.ts). */
export interface PeerActionView {
  invite: (options: { quota: number, name?: string, expirySeconds?: number }) => Promise<Invite>
  accept: (options: { code: string, quota: number, name?: string }, signal: AbortSignal) => Promise<Peer>
  /** UnknownPeerError when the peer is not on the trust list. */
  revoke: (peerId: string) => Promise<Peer>
}

/** POST /peers/invite, /peers/accept, /peers/{peerId}/revoke (documented in peer-spec.ts). */
export function peerActionRoutes (view: PeerActionView): ApiRoute[] {
  return [
    {
      method: 'post',
      path: '/peers/invite',
      handler: async ({ body }) => {
        const b = asObject(body)
        return await view.invite({ quota: size(b.quota, 'quota'), name: optText(b.name, 'name'), expirySeconds: optSeconds(b.expirySeconds) })
      }
    },
    {
      method: 'post',
      path: '/peers/accept',
      handler: async ({ body, signal }) => {
        const b = asObject(body)
        if (typeof b.code !== 'string' || b.code.trim() === '') throw new UsageError('an invite code is needed')
        if (b.code.length > 4096) throw new UsageError('the invite code is too long')
        return await view.accept({ code: b.code.trim(), quota: size(b.quota, 'quota'), name: optText(b.name, 'name') }, signal)
      }
    },
    {
      method: 'post',
      path: '/peers/{peerId}/revoke',
      handler: async ({ params }) => await view.revoke(params.peerId)
    }
  ]
}

function asObject (body: unknown): Record<string, unknown> {
  if (body == null || typeof body !== 'object' || Array.isArray(body)) throw new UsageError('the body must be a JSON object')
  return body as Record<string, unknown>
}

function size (v: unknown, name: string): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v
  if (typeof v === 'string' && v.trim() !== '') {
    try { return parseSize(v.trim()) } catch (err) { throw new UsageError(`${name}: ${(err as Error).message}`) }
  }
  throw new UsageError(`${name} is needed (a size such as 10GiB)`)
}

function optText (v: unknown, name: string): string | undefined {
  if (v == null || v === '') return undefined
  if (typeof v !== 'string') throw new UsageError(`${name} must be text`)
  return v.trim() === '' ? undefined : v.trim()
}

function optSeconds (v: unknown): number | undefined {
  if (v == null || v === '') return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new UsageError('expirySeconds must be a positive whole number of seconds')
  return v
}
