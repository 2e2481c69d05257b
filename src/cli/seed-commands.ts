import { resolve } from 'node:path'
import { UsageError } from '../errors.js'
import { formatBytes } from '../util/format.js'
import { Command, EXIT } from './command.js'
import { homeOf, printJson, withRepository } from './context.js'
import { daemonFor } from './forward.js'
import { ProgressBar } from './progress.js'

/**
 * Seed loading: `seed export --peer PEER DIR` (the owner writes the shards placed on PEER to a disk),
 * `seed import DIR` (on that peer: the running daemon takes them in, verified).
 */
const seedCmd: Command = {
  name: 'seed',
  usage: 'holdfast seed export --peer PEER DIR | seed import DIR  [--home DIR] [--json]',
  summary: 'carry a peer\'s shards on a disk: export the shards meant for PEER to DIR; on PEER, import them (verified)',
  options: { peer: { type: 'string' } },
  // export reads the repository (through the daemon for a peers repository); import talks to this node's daemon
  repository: args => args[0] === 'export',
  readOnly: true,
  absoluteArgs: ([action, dir]) => [action, resolve(dir)],
  minArgs: 2,
  maxArgs: 2,
  async run (ctx) {
    const [action, dirArg] = ctx.args
    const dir = resolve(dirArg)
    if (action === 'import') {
      if (ctx.values.peer != null) throw new UsageError('seed import takes no --peer: the seed names its owner')
      const client = await daemonFor(resolve(homeOf(ctx)))
      const res = await client.call<{ owner: string, imported: number, bytes: number, present: number, refused: Array<{ name: string, reason: string }> }>('/seed/import', { dir }, { signal: ctx.signal })
      if (ctx.json) printJson(ctx, res)
      else {
        ctx.out(`seed from ${res.owner}: ${res.imported} shards taken in (${formatBytes(res.bytes)}), ${res.present} already held`)
        for (const r of res.refused.slice(0, 20)) ctx.err(`refused: shard ${r.name.slice(0, 12)}: ${r.reason}`)
      }
      return res.refused.length > 0 ? EXIT.partial : EXIT.ok
    }
    if (action !== 'export') throw new UsageError(`seed ${action}: expected "export" or "import"`)
    const peer = ctx.values.peer as string | undefined
    if (peer == null) throw new UsageError('seed export needs --peer PEER (a peer id or name)')
    const { exportSeed } = await import('../seed/index.js')
    const { loadIdentity, peerIdOf } = await import('../node/identity.js')
    return await withRepository(ctx, async repo => {
      const store = repo.stores.find(s => s.id === peer || s.id === `peer:${peer}` || s.label === peer)
      if (store == null || !store.id.startsWith('peer:')) throw new UsageError(`no trusted peer ${peer} among the repository's stores`)
      const key = await loadIdentity(repo.home)
      const bar = new ProgressBar('seed')
      const res = await exportSeed(repo, store.id, store.id.slice(5), dir, key, { ownerPeerId: peerIdOf(key).toString(), signal: ctx.signal, onProgress: (d, t) => bar.update(d, t, `${d}/${t} packs`) })
      bar.done()
      if (ctx.json) printJson(ctx, { dir, peer: store.id.slice(5), ...res })
      else {
        ctx.out(`seed for ${store.label ?? store.id}: ${res.shards} shards (${formatBytes(res.bytes)}) written to ${dir}; carry it there and run "holdfast seed import DIR" on that node`)
        for (const f of res.failed) ctx.err(`not exported: pack ${f.pack.slice(0, 12)}: ${f.error}`)
      }
      return res.failed.length > 0 ? EXIT.partial : EXIT.ok
    })
  }
}

export const SEED_COMMANDS: Command[] = [seedCmd]
