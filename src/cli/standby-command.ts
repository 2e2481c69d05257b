import { resolve } from 'node:path'
import { setSnapshotPaths } from '../config/node-config.js'
import { UsageError } from '../errors.js'
import { formatBytes } from '../util/format.js'
import { Command, EXIT } from './command.js'
import { homeOf, printJson, withRepository } from './context.js'
import { ProgressBar } from './progress.js'
import type { RestoreResult } from '../restore/restore.js'

/** `holdfast standby`: keeps a folder equal to the latest snapshot (of a set), applying only what changed. */
export const standbyCommand: Command = {
  name: 'standby',
  usage: 'holdfast standby [--home DIR] [--json] --target DIR [--set NAME]',
  summary: 'bring a standby folder to the latest snapshot (of a set): only what changed is written, verified; what is gone is removed',
  options: { target: { type: 'string' }, set: { type: 'string' } },
  repository: true,
  readOnly: true,
  minArgs: 0,
  maxArgs: 0,
  async run (ctx) {
    const target = ctx.values.target as string | undefined
    if (target == null) throw new UsageError('standby needs --target DIR')
    const setName = ctx.values.set as string | undefined
    let paths: string[] | undefined
    if (setName != null) {
      const { loadNodeConfig } = await import('../config/index.js')
      const set = (await loadNodeConfig(homeOf(ctx))).backup.sets.find(s => s.name === setName)
      if (set == null) throw new UsageError(`no backup set named ${JSON.stringify(setName)} in the node config (backup.sets)`)
      paths = setSnapshotPaths(set)
    }
    const { updateStandby } = await import('../standby/index.js')
    return await withRepository(ctx, async repo => {
      const bar = new ProgressBar('standby')
      const started = new Date().toISOString()
      // each step is a restore session in the log (the dashboard's Sessions page lists it)
      const log = async (snapshot: string, result?: RestoreResult, error?: Error): Promise<void> => {
        const { restoreReport, SessionLog } = await import('../session/index.js')
        const report = restoreReport({ id: SessionLog.newId(), trigger: 'manual', started, ended: new Date().toISOString(), snapshot, paths: paths ?? ['/'], target: resolve(target), result, error })
        const written = ctx.logSession != null ? ctx.logSession(report) : new SessionLog(homeOf(ctx)).append(report)
        await written.catch(err => ctx.err(`the standby's session report could not be written: ${(err as Error).message}`))
      }
      let res
      try {
        res = await updateStandby(repo, target, { ...(paths != null ? { paths } : {}), signal: ctx.signal, onProgress: e => { if (e.type === 'restore:progress') bar.update(e.bytesDone, e.bytesTotal, `${e.filesDone}/${e.filesTotal} files`) } })
      } catch (err) {
        bar.done()
        await log('', undefined, err as Error)
        throw err
      }
      bar.done()
      if (!res.upToDate) await log(res.snapshot, res.restored)
      const r = res.restored
      if (ctx.json) printJson(ctx, { ...res, target: resolve(target) })
      else if (res.upToDate) ctx.out(`${resolve(target)} holds snapshot ${res.snapshot.slice(0, 8)}, the latest: nothing to do`)
      else ctx.out(`${resolve(target)} now holds snapshot ${res.snapshot.slice(0, 8)}${res.previous != null ? ` (was ${res.previous.slice(0, 8)})` : ''}: ${res.removed} entries removed or refreshed, ${r?.files ?? 0} files written (${formatBytes(r?.bytes ?? 0)}), ${r?.skipped ?? 0} unchanged, ${r?.verified ?? 0} read back and verified`)
      for (const f of r?.failed ?? []) ctx.err(`not written: ${f.path}: ${f.reason}`)
      return (r?.failed.length ?? 0) > 0 ? EXIT.partial : EXIT.ok
    })
  }
}
