import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { openKeyFile, type KeyFile } from '../crypto/keys.js'
import { AbortedError, RecoveryKitError, WrongPassphraseError } from '../errors.js'
import { homePaths } from '../home/home.js'
import { writeIdentity } from '../node/identity.js'
import { writeProfile } from '../node/profile.js'
import { TrustList } from '../node/trust-list.js'
import { kitEscrowSealer, readSealedKeyFiles } from '../repository/key-record.js'
import { writeFileAtomic } from '../util/write-file-atomic.js'
import { kitReaderKey } from './kit-reader.js'
import { kitSecretIn, type RecoveryKit } from './recovery-kit.js'

export interface KitKeyFileOptions {
  listen?: string[]
  /** How long to wait for the kit's peers (default 120 s). */
  waitMs?: number
  /** After a key file was found that the passphrase does not open, how long other hosts may still answer with a newer one (default 10 s). */
  graceMs?: number
  signal?: AbortSignal
}

/**
 * Fetches the repository's current key file for a version-3 kit: a node with the kit reader's identity
 * (kit-reader.ts) asks the kit's peers for the owner's key objects, opens those sealed under the kit secret
 * (a host can neither read nor forge one) and returns the newest key file the passphrase opens.
 * WrongPassphraseError when key files were found and none opens (after the other peers had `graceMs` to
 * answer with a newer one); RecoveryKitError when no peer gave one within `waitMs`. Nothing is written
 * but a temporary home, removed at the end.
 */
export async function fetchKitKeyFile (kit: RecoveryKit, passphrase: string, options: KitKeyFileOptions = {}): Promise<{ keyFile: Buffer, hosts: number }> {
  const secret = kitSecretIn(kit)
  const sealer = kitEscrowSealer(secret)
  const home = await mkdtemp(join(tmpdir(), 'holdfast-kit-'))
  const { Daemon } = await import('../daemon/index.js')
  const daemon = new Daemon({ home, listen: options.listen ?? ['/ip4/0.0.0.0/tcp/0'] })
  try {
    await writeIdentity(home, await kitReaderKey(secret))
    await writeProfile(home, { name: `${kit.name} recovery`.slice(0, 64), site: kit.site })
    const trust = await TrustList.open(home)
    for (const p of kit.peers) await trust.add({ peerId: p.peerId, name: p.name, site: p.site, addresses: p.addresses, quotaGranted: 0, quotaReceived: 0 })
    await trust.flush()
    // a device-like home: every request names the owner (as=), the hosts let the kit reader read its key objects
    await writeFileAtomic(homePaths(home).config, JSON.stringify({ version: 1, repository: kit.repository, stores: [], peers: true, owner: kit.peerId, role: 'read' }, null, 2) + '\n')
    await daemon.start()
    const until = Date.now() + (options.waitMs ?? 120_000)
    const answered = new Set<string>()
    const found = new Map<string, { keyFile: KeyFile, bytes: Buffer }>()
    const problems = new Map<string, string>()
    let unopenedSince: number | undefined
    for (;;) {
      if (options.signal?.aborted === true) throw new AbortedError('recovery interrupted')
      const online = kit.peers.filter(p => !answered.has(p.peerId) && daemon.presence?.isOnline(p.peerId) === true).map(p => p.peerId)
      if (online.length > 0) {
        await Promise.all(online.map(async peer => {
          const store = daemon.peerStores([peer])[0]
          try {
            for (const r of await readSealedKeyFiles(store, sealer, { signal: options.signal })) found.set(r.bytes.toString('base64'), r)
            answered.add(peer)
            problems.delete(peer)
          } catch (err) {
            if (options.signal?.aborted === true) throw err
            problems.set(peer, `${store.label ?? store.id}: ${(err as Error).message}`)
          }
        }))
        // newest first: a host that was offline at the last key change may still keep an older one
        for (const r of [...found.values()].sort((a, b) => b.keyFile.generation - a.keyFile.generation)) {
          try {
            await openKeyFile(r.keyFile, passphrase)
            return { keyFile: r.bytes, hosts: answered.size }
          } catch (err) {
            if ((err as Error).name !== 'WrongPassphraseError') throw err
          }
        }
        if (found.size > 0) unopenedSince ??= Date.now()
      }
      const allAnswered = kit.peers.every(p => answered.has(p.peerId))
      if (unopenedSince != null && (allAnswered || Date.now() - unopenedSince > (options.graceMs ?? 10_000) || Date.now() > until)) {
        throw new WrongPassphraseError('the passphrase opens none of the repository\'s keys (as its hosts keep them for the recovery kit)')
      }
      if (allAnswered) throw new RecoveryKitError(`none of the kit's ${kit.peers.length} peers keeps the repository's keys for this kit (was the kit made by a node whose daemon never ran with its hosts?)`)
      if (Date.now() > until) {
        throw new RecoveryKitError(`no peer of the kit gave the repository's keys within ${Math.round((options.waitMs ?? 120_000) / 1000)} s${problems.size > 0 ? `: ${[...problems.values()].join('; ')}` : ' (none came online)'}`)
      }
      await sleep(500, undefined, { signal: options.signal }).catch(() => {})
    }
  } finally {
    await daemon.stop()
    await rm(home, { recursive: true, force: true }).catch(() => {})
  }
}
