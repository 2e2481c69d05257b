import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { UsageError } from '../errors.js'
import { Command, EXIT, intOption } from './command.js'
import { homeOf, printJson } from './context.js'
import { getPassphrase } from './passphrase.js'

/**
 * Recovery from the passphrase alone: `recovery-kit` prints the kit to keep; `recover` builds a new home
 * from it, with the key file and the register fetched from the peers.
 */
const recoveryKitCmd: Command = {
  name: 'recovery-kit',
  usage: 'holdfast recovery-kit [--home DIR] [--out FILE]',
  summary: 'print the recovery kit (no passphrase in it): with the passphrase, it rebuilds this node on a new machine',
  options: { out: { type: 'string' } },
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const home = homeOf(ctx)
    const { readHomeConfig, homePaths } = await import('../home/home.js')
    const { writeFileAtomic } = await import('../util/write-file-atomic.js')
    const { parseKeyFile, openKeyFile } = await import('../crypto/keys.js')
    const { loadIdentity, peerIdOf } = await import('../node/identity.js')
    const { privateKeyToProtobuf } = await import('@libp2p/crypto/keys')
    const { readProfile } = await import('../node/profile.js')
    const { TrustList } = await import('../node/trust-list.js')
    const { makeKit, MAX_KIT_PEERS } = await import('../recovery/index.js')
    const { kitSecretOf } = await import('../crypto/kit-escrow.js')
    const homeConfig = await readHomeConfig(home)
    if (homeConfig.peers !== true) throw new UsageError('this repository keeps its shards in directory stores: back up its home and stores instead; a recovery kit finds peers')
    const passphrase = await getPassphrase({ file: ctx.values['passphrase-file'] as string | undefined })
    // the kit names hosts only (a device keeps nothing of ours)
    // the kit is sealed under the master secrets that the repository's keys wrap: any of its passphrases opens it
    const keyFile = await readFile(homePaths(home).key)
    const { secrets } = await openKeyFile(parseKeyFile(keyFile), passphrase)
    const key = await loadIdentity(home)
    const profile = await readProfile(home)
    const peers = (await TrustList.open(home)).hosts()
      .sort((a, b) => (b.lastSeen ?? b.addedAt).localeCompare(a.lastSeen ?? a.addedAt))
      .slice(0, MAX_KIT_PEERS)
      .map(p => ({ peerId: p.peerId, name: p.name, site: p.site, addresses: p.addresses, quotaGranted: p.quotaGranted, quotaReceived: p.quotaReceived }))
    if (peers.length === 0) throw new UsageError('this node has no trusted peers yet: pair first (holdfast peers invite/accept)')
    const identity = privateKeyToProtobuf(key)
    const kit = await makeKit({ repository: homeConfig.repository, peerId: peerIdOf(key).toString(), name: profile.name, site: profile.site, identity, peers }, secrets, kitSecretOf(identity))
    const text = JSON.stringify(kit, null, 2) + '\n'
    // the kit opens with the key file its hosts keep for it (crypto/kit-escrow.ts): the daemon puts it there
    const escrow = await publishKitKeys(home, ctx.signal)
    // from now on the kit holds the key file: the next backup removes the copies older versions gave the peers
    await writeFileAtomic(homePaths(home).kitHoldsKey, new Date().toISOString() + '\n')
    const out = ctx.values.out as string | undefined
    if (out != null) {
      await writeFileAtomic(resolve(out), text)
      if (ctx.json) printJson(ctx, { kit: resolve(out), peers: peers.length, bytes: text.length, hostsHoldingKeys: escrow?.holding ?? null, hosts: escrow?.hosts ?? null })
      else ctx.out(`recovery kit written to ${resolve(out)} (${text.length} bytes, ${peers.length} peers); keep it apart from this machine, with the passphrase remembered`)
    } else {
      ctx.out(text.trimEnd())
    }
    if (escrow == null) ctx.err('recovery-kit: the daemon is not running: the hosts get the keys that open this kit when it runs (holdfast daemon); until then the kit cannot be used')
    else if (escrow.holding === 0) ctx.err(`recovery-kit: none of the ${escrow.hosts} hosts could be given the keys that open this kit yet (${escrow.problems.join('; ')}): they get them when next seen`)
    else if (!ctx.json) ctx.err(`the keys that open this kit (any of the repository's passphrases, now and after a change) are with ${escrow.holding} of ${escrow.hosts} hosts`)
    return EXIT.ok
  }
}

const recoverCmd: Command = {
  name: 'recover',
  usage: 'holdfast recover --home DIR --kit FILE [--listen MULTIADDR] [--wait SECONDS] [--json]',
  summary: 'rebuild this node on a new machine from the recovery kit and the passphrase: same identity, peers, snapshots',
  options: { kit: { type: 'string' }, listen: { type: 'string', multiple: true }, wait: { type: 'string' } },
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const kitPath = ctx.values.kit as string | undefined
    if (kitPath == null) throw new UsageError('recover needs --kit FILE')
    if (typeof ctx.values.home !== 'string') throw new UsageError('recover needs --home DIR (a new, empty directory)')
    const home = resolve(ctx.values.home)
    const waitSeconds = intOption(ctx, 'wait') ?? 120
    if (waitSeconds < 1) throw new UsageError('--wait must be at least 1 second')
    const { parseKit, openKit, writeRecoveredHome, fetchKeyFile, writeKitKeyFile, fetchKitKeyFile } = await import('../recovery/index.js')
    const kit = parseKit(await readFile(resolve(kitPath), 'utf8'))
    const passphrase = await getPassphrase({ file: ctx.values['passphrase-file'] as string | undefined })
    // a version-3 kit opens with the key file its hosts keep for it: fetched first, under the kit reader's identity
    const listen = (ctx.values.listen as string[] | undefined) ?? ['/ip4/0.0.0.0/tcp/0']
    const fetched = kit.v === 3 ? await fetchKitKeyFile(kit, passphrase, { listen, waitMs: waitSeconds * 1000, signal: ctx.signal }) : undefined
    const contents = await openKit(kit, passphrase, fetched?.keyFile)
    const { rm } = await import('node:fs/promises')
    const { homePaths } = await import('../home/home.js')
    await writeRecoveredHome(home, contents)
    const { Daemon } = await import('../daemon/index.js')
    const { Repository } = await import('../repository/repository.js')
    const daemon = new Daemon({ home, listen })
    let ok = false
    try {
      await daemon.start()
      const until = Date.now() + waitSeconds * 1000
      let last: unknown
      for (;;) {
        if (ctx.signal.aborted) throw new UsageError('interrupted')
        try {
          const online = kit.peers.filter(p => daemon.presence?.isOnline(p.peerId) === true)
          if (online.length > 0) {
            const { from } = contents.keyFile != null
              ? await writeKitKeyFile(home, contents.keyFile, passphrase, fetched != null ? `the hosts (${fetched.hosts} answered)` : 'the recovery kit')
              : await fetchKeyFile(home, daemon.peerStores(), passphrase, { signal: ctx.signal })
            // keys changed since the kit was made (a rotation): the peers' key record carries the newer key file
            const { adoptNewerKeyFile } = await import('../repository/key-record.js')
            const newer = await adoptNewerKeyFile(home, daemon.peerStores(), passphrase, { signal: ctx.signal })
            if (newer.outcome === 'stale') ctx.err(`recover: the repository's keys changed after this kit was made and this passphrase is not among them now: what was written after a key rotation cannot be read here; recover with a newer kit or a current passphrase`)
            const repo = await Repository.open(home, passphrase, { signal: ctx.signal, stores: daemon.peerStores() })
            try {
              const snapshots = await repo.register.snapshots()
              const result = { home, repository: kit.repository, peerId: kit.peerId, keyFrom: from, keysUpdated: newer.outcome === 'adopted', peersOnline: online.length, peers: kit.peers.length, packs: repo.register.packs.size, snapshots: snapshots.length }
              if (ctx.json) printJson(ctx, result)
              else {
                ctx.out(`recovered repository ${kit.repository.slice(0, 8)} into ${home}: node ${kit.peerId}`)
                ctx.out(`key file from ${from}; register rebuilt from ${online.length} of ${kit.peers.length} peers: ${result.packs} packs, ${snapshots.length} snapshots`)
                ctx.out(`next: holdfast daemon --home ${home}, then holdfast snapshots / holdfast restore`)
              }
            } finally {
              await repo.close()
            }
            ok = true
            return EXIT.ok
          }
        } catch (err) {
          if ((err as Error).name === 'WrongPassphraseError') throw err
          last = err
          await rm(homePaths(home).key, { force: true }).catch(() => {})
          await rm(homePaths(home).register, { recursive: true, force: true }).catch(() => {})
        }
        if (Date.now() > until) {
          const { RecoveryKitError } = await import('../errors.js')
          throw new RecoveryKitError(`the peers of the kit could not give the repository back within ${waitSeconds} s${last != null ? `: ${(last as Error).message}` : ' (none came online)'}`)
        }
        await sleep(1000)
      }
    } finally {
      await daemon.stop()
      // a failed recovery leaves no half-built home behind (it was empty before)
      if (!ok) await rm(home, { recursive: true, force: true }).catch(() => {})
    }
  }
}

export const RECOVERY_COMMANDS: Command[] = [recoveryKitCmd, recoverCmd]

/**
 * Asks the running daemon to put the current key file, sealed for the recovery kits, on every host now
 * (KitEscrowService). Undefined when no daemon runs (it does so at its start).
 */
export async function publishKitKeys (home: string, signal?: AbortSignal): Promise<{ hosts: number, holding: number, problems: string[] } | undefined> {
  const { ApiClient } = await import('../api/index.js')
  const client = await ApiClient.forHome(home)
  if (client == null) return undefined
  return await client.call<{ hosts: number, holding: number, problems: string[] }>('/keys/publish', {}, { signal })
}
