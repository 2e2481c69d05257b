import { resolve } from 'node:path'
import { UsageError } from '../errors.js'
import type { FleetMember, FleetSession } from '../fleet/index.js'
import { formatBytes } from '../util/format.js'
import { EXIT, type Command } from './command.js'
import { homeOf, printJson } from './context.js'
import { daemonFor } from './forward.js'

/**
 * `holdfast fleet`: the nodes of an office that granted this node the admin role (holdfast peers grant
 * PEER admin on each), through this node's daemon: their status, their session reports, and a backup, an
 * audit or a repair started on one of them.
 */
export const fleetCommand: Command = {
  name: 'fleet',
  usage: 'holdfast fleet [list] [--json] | sessions NODE [--json] | run NODE backup|audit|repair [--set NAME]',
  summary: 'the nodes that made this node their admin: status, session reports; start a backup, an audit or a repair on one',
  options: { set: { type: 'string' } },
  minArgs: 0,
  maxArgs: 3,
  async run (ctx) {
    const [sub = 'list', node, action] = ctx.args
    const client = await daemonFor(resolve(homeOf(ctx)))
    const call = async <T>(path: string, body: unknown): Promise<T> => await client.call<T>(path, body, { signal: ctx.signal })
    if (sub === 'list') {
      if (ctx.args.length > 1) throw new UsageError('fleet list takes no argument')
      const members = await call<FleetMember[]>('/fleet/list', {})
      if (ctx.json) { printJson(ctx, members); return EXIT.ok }
      if (members.length === 0) { ctx.out('no node has made this node its admin (on each node: holdfast peers grant THIS-NODE admin)'); return EXIT.ok }
      for (const m of members) {
        const s = m.status
        ctx.out(`${m.name}  (site ${m.site})  ${m.online ? 'online' : `offline, last seen ${m.seen ?? 'never'}`}`)
        if (s == null) continue
        ctx.out(`    ${s.level.toUpperCase()}: ${s.summary}`)
        if (s.packs != null) ctx.out(`    packs: ${s.packs.total} (${s.packs.full} full, ${s.packs.degraded} degraded, ${s.packs.critical} critical); peers ${s.peers.online}/${s.peers.trusted} online`)
        ctx.out(`    space: ${formatBytes(s.space.storedOnOthers)} on others, ${formatBytes(s.space.givenToOthers)} kept for others`)
        for (const w of s.warnings.slice(0, 5)) ctx.out(`    ! ${w.message}`)
        for (const j of s.jobs.slice(0, 3)) ctx.out(`    ${j.action}${j.set != null ? ` ${j.set}` : ''} ${j.status}${j.detail != null ? `: ${j.detail}` : ''} (${j.started})`)
      }
      return EXIT.ok
    }
    if (node == null) throw new UsageError(`fleet ${sub} needs the node's name or peer ID`)
    if (sub === 'sessions') {
      const list = await call<FleetSession[]>('/fleet/sessions', { peer: node, limit: 20 })
      if (ctx.json) { printJson(ctx, list); return EXIT.ok }
      for (const r of list) ctx.out(`${r.started}  ${r.kind.padEnd(7)} ${(r.set ?? '').padEnd(12)} ${r.status}${r.reason != null ? `: ${r.reason}` : ''}`)
      return EXIT.ok
    }
    if (sub === 'run') {
      if (action !== 'backup' && action !== 'audit' && action !== 'repair') throw new UsageError('fleet run NODE backup|audit|repair')
      const { id } = await call<{ id: string }>('/fleet/run', { peer: node, action, set: ctx.values.set })
      if (ctx.json) printJson(ctx, { id })
      else ctx.out(`${action} started on ${node} (job ${id}); holdfast fleet shows how it ends`)
      return EXIT.ok
    }
    throw new UsageError(`unknown fleet command "${sub}": list, sessions or run`)
  }
}
