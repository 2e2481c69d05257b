import { UsageError } from '../errors.js'
import type { AccessState } from './api-schemas.js'
import type { ApiRoute } from './api-routes.js'

/** The daemon's hold on the repository's passphrase (daemon/repository-access.ts). */
export interface AccessView {
  state: () => Promise<AccessState['state']>
  /** Checks the passphrase against the key file (WrongPassphraseError) and keeps it a while. */
  unlock: (passphrase: string) => Promise<void>
  lock: () => void
}

/** GET /access, POST /unlock, POST /lock: what browsing, restores and "Back up now" open the repository with. */
export function accessRoutes (view: AccessView): ApiRoute[] {
  return [
    { method: 'get', path: '/access', handler: async () => ({ state: await view.state() }) },
    {
      method: 'post',
      path: '/unlock',
      handler: async ({ body }) => {
        const passphrase = (body as { passphrase?: unknown } | undefined)?.passphrase
        if (typeof passphrase !== 'string' || passphrase === '' || passphrase.length > 4096) throw new UsageError('the passphrase is needed')
        await view.unlock(passphrase)
        return { state: await view.state() }
      }
    },
    {
      method: 'post',
      path: '/lock',
      handler: async () => { view.lock(); return { state: await view.state() } }
    }
  ]
}
