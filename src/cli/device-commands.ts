import { mkdir, readdir, rm } from 'node:fs/promises'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { UsageError } from '../errors.js'
import { EXIT, type Command } from './command.js'
import { daemonFor } from './forward.js'
import { homeOf, printJson } from './context.js'

/**
 * A second device of the same owner: `device link` (on the owner's node, through its daemon) prints a
 * one-time code; `device join CODE --home DIR` (on the other machine) makes DIR a node of its own that
 * reads the owner's repository from the same peers, with the owner's passphrase (or a key added for it).
 * `device list` and `device revoke` on the owner's node.
 */
export const deviceCommand: Command = {
  name: 'device',
  usage: 'holdfast device link [--name N] [--role read|write] [--expires SECONDS] | join CODE --home DIR [--name N] [--site S] [--listen MULTIADDR] | list [--json] | revoke DEVICE',
  summary: 'a second device of yours: link prints a one-time code here; join on the other machine gives it read access to this repository (list, browse, restore from the same peers)',
  options: { name: { type: 'string' }, site: { type: 'string' }, role: { type: 'string' }, expires: { type: 'string' }, listen: { type: 'string', multiple: true } },
  minArgs: 1,
  maxArgs: 2,
  async run (ctx) {
    const [sub, arg] = ctx.args
    if (sub === 'join') return await join(ctx, arg)
    const home = resolve(homeOf(ctx))
    const client = await daemonFor(home)
    const call = async <T>(path: string, body: unknown): Promise<T> => await client.call<T>(path, body, { signal: ctx.signal })
    if (sub === 'link') {
      if (arg != null) throw new UsageError('device link takes no argument')
      const expires = ctx.values.expires != null ? Number(ctx.values.expires) : undefined
      if (expires != null && !(Number.isInteger(expires) && expires > 0)) throw new UsageError('--expires must be a whole number of seconds')
      const role = (ctx.values.role as string | undefined) ?? 'read'
      if (role !== 'read' && role !== 'write') throw new UsageError('--role must be read (list, browse, restore) or write (back up, prune, repair too)')
      const { code } = await call<{ code: string }>('/devices/link', { name: ctx.values.name, expirySeconds: expires, role })
      if (ctx.json) printJson(ctx, { code })
      else {
        ctx.out(code)
        ctx.err('on the other device: holdfast device join CODE --home DIR (the code works once; it carries no key)')
      }
      return EXIT.ok
    }
    if (sub === 'list') {
      const list = await call<Array<{ peerId: string, name: string, role: string, online: boolean, addedAt: string, hostsTold: number }>>('/devices/list', {})
      if (ctx.json) { printJson(ctx, list); return EXIT.ok }
      if (list.length === 0) { ctx.out('no devices linked (holdfast device link)'); return EXIT.ok }
      for (const d of list) ctx.out(`${d.name}  ${d.peerId}  ${d.role}  ${d.online ? 'online' : 'offline'}  linked ${d.addedAt.slice(0, 10)}, ${d.hostsTold} host(s) told`)
      return EXIT.ok
    }
    if (sub === 'revoke') {
      if (arg == null) throw new UsageError('device revoke needs the device\'s peer ID or name')
      const entry = await call<{ peerId: string, name: string }>('/devices/revoke', { device: arg })
      if (ctx.json) printJson(ctx, entry)
      else ctx.out(`revoked device ${entry.name} (${entry.peerId}): it can no longer connect here, and the hosts are told to refuse it`)
      return EXIT.ok
    }
    throw new UsageError(`unknown device command "${String(sub)}": link, join, list or revoke`)
  }
}

/** `device join CODE --home DIR`: a new node in DIR, paired with the owner as its device, with what reading needs. */
async function join (ctx: Parameters<Command['run']>[0], code: string | undefined): Promise<number> {
  if (code == null) throw new UsageError('device join needs the code that holdfast device link printed')
  if (typeof ctx.values.home !== 'string') throw new UsageError('device join needs --home DIR (a new, empty directory for this device)')
  const home = resolve(ctx.values.home)
  const entries = await readdir(home).catch(() => [])
  if (entries.length > 0) throw new UsageError(`${home} is not empty: join into a new directory`)
  const { createIdentity } = await import('../node/identity.js')
  const { readProfile, writeProfile, isValidLabel, MAX_LABEL_LENGTH } = await import('../node/profile.js')
  const name = ctx.values.name as string | undefined
  const site = ctx.values.site as string | undefined
  if (name != null && !isValidLabel(name)) throw new UsageError(`--name must be 1-${MAX_LABEL_LENGTH} printable characters`)
  if (site != null && !isValidLabel(site)) throw new UsageError(`--site must be 1-${MAX_LABEL_LENGTH} printable characters`)
  const { Daemon } = await import('../daemon/index.js')
  const { peerIdFromString } = await import('@libp2p/peer-id')
  const { homePaths } = await import('../home/home.js')
  const { writeFileAtomic } = await import('../util/write-file-atomic.js')
  const { ownerRecordKeyPath } = await import('../repository/node-record-key.js')
  let ok = false
  await mkdir(home, { recursive: true, mode: 0o700 })
  const daemon = new Daemon({ home, listen: (ctx.values.listen as string[] | undefined) ?? ['/ip4/0.0.0.0/tcp/0'] })
  try {
    await createIdentity(home)
    const profile = await readProfile(home)
    await writeProfile(home, { name: name ?? profile.name, site: site ?? profile.site })
    await daemon.start()
    const owner = await daemon.pairing!.acceptInvite(code.trim(), { quota: 0, signal: ctx.signal })
    // the owner trusts this node from its ack on; its next connection is a trusted one
    let bundle
    for (let attempt = 0; ; attempt++) {
      try {
        bundle = await daemon.devices!.fetchBundle(peerIdFromString(owner.peerId), { signal: ctx.signal })
        break
      } catch (err) {
        if (attempt >= 10 || ctx.signal.aborted || (err as Error).name === 'PeerNotTrustedError') throw err
        await sleep(500)
      }
    }
    const paths = homePaths(home)
    await writeFileAtomic(paths.key, bundle.keyFile)
    await writeFileAtomic(paths.repoConfig, bundle.repoConfig)
    await writeFileAtomic(ownerRecordKeyPath(home), bundle.recordKey)
    for (const h of bundle.hosts) {
      if (h.peerId === daemon.peerId) continue
      await daemon.trust!.add({ peerId: h.peerId, name: h.name, site: h.site, addresses: h.addresses, quotaGranted: 0, quotaReceived: 0 })
    }
    await daemon.trust!.flush()
    await writeFileAtomic(paths.config, JSON.stringify({ version: 1, repository: bundle.repository, stores: [], peers: true, owner: owner.peerId, role: bundle.role }, null, 2) + '\n')
    const result = { home, peerId: daemon.peerId, owner: owner.peerId, ownerName: bundle.name, repository: bundle.repository, role: bundle.role, hosts: bundle.hosts.length }
    if (ctx.json) printJson(ctx, result)
    else {
      ctx.out(`joined ${bundle.name}'s repository ${bundle.repository.slice(0, 8)} as a device with ${bundle.role} access: node ${daemon.peerId}, ${bundle.hosts.length} host(s)`)
      ctx.out(`next: holdfast daemon --home ${home}, then holdfast snapshots / ls / restore with ${bundle.name}'s passphrase (or a key added for this device)`)
    }
    ok = true
    return EXIT.ok
  } finally {
    await daemon.stop()
    // a failed join leaves no half-made home behind (it was empty before)
    if (!ok) await rm(home, { recursive: true, force: true }).catch(() => {})
  }
}
