import { resolve } from 'node:path'
import { UsageError } from '../errors.js'
import { EXIT, type Command } from './command.js'
import { homeOf, printJson, type CommandContext } from './context.js'
import { getNewPassphrase, getPassphrase, kdfMemoryOption } from './passphrase.js'
import type { KeyChange, KeyInfo } from '../repository/home-keys.js'

/**
 * `holdfast key list | add | remove ID | passwd | rotate`: the repository's keys (passphrases wrapping its
 * master secrets). Runs on the home's key file under the home's lock, beside a running daemon (which
 * reads the key file at each command: a removed passphrase is refused from the next one).
 */
const SUBCOMMANDS = ['list', 'add', 'remove', 'passwd', 'rotate'] as const

export const keyCommand: Command = {
  name: 'key',
  usage: 'holdfast key list [--json] | add [--label TEXT] [--new-passphrase-file FILE] | remove ID | passwd [--new-passphrase-file FILE] | rotate',
  summary: 'the repository\'s keys: several passphrases open it, each with a label; passwd changes one (checked before the old goes); rotate starts new data keys for what is written from now on',
  options: { label: { type: 'string' }, 'new-passphrase-file': { type: 'string' }, 'kdf-memory': { type: 'string' } },
  minArgs: 1,
  maxArgs: 2,
  async run (ctx) {
    const sub = ctx.args[0] as typeof SUBCOMMANDS[number]
    if (!SUBCOMMANDS.includes(sub)) throw new UsageError(`unknown key command "${ctx.args[0]}": ${SUBCOMMANDS.join(', ')}`)
    if (sub !== 'remove' && ctx.args.length > 1) throw new UsageError(`key ${sub} takes no argument`)
    if (sub === 'remove' && ctx.args.length !== 2) throw new UsageError('key remove needs the key\'s ID (holdfast key list shows them)')
    const home = resolve(homeOf(ctx))
    const keys = await import('../repository/home-keys.js')
    if (sub === 'list') {
      const { generation, keys: list } = await keys.listKeys(home)
      if (ctx.json) { printJson(ctx, { generation, keys: list }); return EXIT.ok }
      ctx.out('ID                LABEL                  CREATED')
      for (const k of list) ctx.out(`${k.id}  ${k.label.padEnd(22)} ${k.created !== '' ? k.created.slice(0, 19).replace('T', ' ') : '-'}${k.legacy ? '  (made before keys had labels)' : ''}`)
      return EXIT.ok
    }
    const passphrase = await getPassphrase({ file: ctx.values['passphrase-file'] as string | undefined })
    const options = { signal: ctx.signal, label: ctx.values.label as string | undefined, kdfMemory: kdfMemoryOption(ctx) }
    const newPassphrase = async (): Promise<string> => await getNewPassphrase({ file: ctx.values['new-passphrase-file'] as string | undefined })
    let result: KeyChange
    if (sub === 'add') result = await keys.addHomeKey(home, passphrase, await newPassphrase(), options)
    else if (sub === 'remove') result = await keys.removeHomeKey(home, passphrase, ctx.args[1], options)
    else if (sub === 'passwd') result = await keys.changeHomePassphrase(home, passphrase, await newPassphrase(), options)
    else result = await keys.rotateHomeKeys(home, passphrase, options)
    report(ctx, sub, result, await kitAdvice(home, ctx.signal))
    return result.storeProblems.length > 0 ? EXIT.partial : EXIT.ok
  }
}

/**
 * A repository on peers: its recovery kits open with the key file the hosts keep for them (kit escrow),
 * which the daemon brings up to date now (or at its start when it is not running).
 */
async function kitAdvice (home: string, signal: AbortSignal): Promise<string | undefined> {
  const { readHomeConfig } = await import('../home/home.js')
  const homeConfig = await readHomeConfig(home)
  if (homeConfig.peers !== true || homeConfig.owner != null) return undefined
  const { publishKitKeys } = await import('./recovery-commands.js')
  let escrow
  try { escrow = await publishKitKeys(home, signal) } catch (err) { return `the recovery kits: the daemon could not give the hosts the new keys (${(err as Error).message}); it tries again when each host is next seen` }
  if (escrow == null) return 'the recovery kits open with the keys the hosts keep for them: they get the new ones when the daemon runs (holdfast daemon)'
  return `the recovery kits open with the keys as they are now: the hosts keep them for the kits (${escrow.holding} of ${escrow.hosts} up to date${escrow.holding < escrow.hosts ? ', the others when next seen' : ''}); a kit whose file says "v": 2 (made by an earlier Holdfast) carries the old keys: make a new one`
}

function report (ctx: CommandContext, sub: string, r: KeyChange, advice: string | undefined): void {
  if (ctx.json) { printJson(ctx, { ...r, ...(advice != null ? { advice } : {}) }); return }
  const name = (k: KeyInfo): string => `${k.id} "${k.label}"`
  if (sub === 'add') ctx.out(`key ${name(r.added!)} added: ${r.keys.length} keys open the repository`)
  if (sub === 'remove') ctx.out(`key ${name(r.removed!)} removed: its passphrase opens nothing any more; ${r.keys.length} key(s) left`)
  if (sub === 'passwd') ctx.out(`passphrase changed: key ${name(r.added!)} replaces ${r.removed!.id} (the new one was checked before the old went)`)
  if (sub === 'rotate') ctx.out(`new data keys (epoch ${r.epochs}): what is written from now on uses them; what was written before stays readable`)
  if (r.storesUpdated > 0) ctx.out(`key file copies updated on ${r.storesUpdated} directory store(s)`)
  for (const p of r.storeProblems) ctx.err(`key: could not update the key file on ${p}`)
  if (advice != null) ctx.out(advice)
}
