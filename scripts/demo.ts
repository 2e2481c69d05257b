import '../src/polyfill.js'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from './lib/cli-runner.js'
import { startDaemon, type RunningDaemon } from './lib/daemon-runner.js'
import { makeSample } from './lib/sample-tree.js'
import { shardFiles } from './lib/shard-files.js'
import { compareTrees } from './lib/tree-compare.js'

/**
 * npm run demo: the whole cycle on one machine, over the network. Seven daemons on 127.0.0.1 in
 * temporary homes (one owner, six hosts in three sites); the owner pairs with each host by invite code,
 * backs up a sample tree at 4+2 onto the hosts, one host loses its shards (audit finds it, repair heals
 * it), two hosts stop, the owner restores, every byte and
 * attribute is compared, and a summary is printed with the address of the owner's dashboard. On a
 * terminal the demo then keeps the daemons up until Ctrl-C, so that the dashboard can be opened;
 * `--no-wait` (or output that is not a terminal) stops them at once. `--keep` leaves the temporary
 * directory for inspection. (npm run demo:local shows the engine alone, with directory stores.)
 */
const keep = process.argv.includes('--keep')
// on a terminal the demo ends with the owner's dashboard up until Ctrl-C; --no-wait (and any run that is
// not on a terminal, as in CI) stops at once
const wait = process.stdout.isTTY === true && !process.argv.includes('--no-wait')
const root = await mkdtemp(join(tmpdir(), 'holdfast-demo-'))
const PASSPHRASE = 'correct horse battery staple'
const say = (s: string): void => { process.stdout.write(s + '\n') }
const daemons: RunningDaemon[] = []

async function step (home: string, args: string[], options: { expect?: number, quiet?: boolean, env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await runCli(args, { HOLDFAST_PASSPHRASE: PASSPHRASE, HOLDFAST_HOME: home, ...options.env })
  const who = home.slice(root.length + 1)
  say(`[${who}] $ holdfast ${args.join(' ')}    (${(r.ms / 1000).toFixed(2)} s)`)
  if (options.quiet !== true || r.code !== (options.expect ?? 0)) {
    for (const line of (r.stdout + r.stderr).trim().split('\n')) if (line !== '') say(`    ${line}`)
  }
  if (r.code !== (options.expect ?? 0)) throw new Error(`holdfast ${args[0]} exited with ${r.code}, expected ${options.expect ?? 0}`)
  return r.stdout
}

try {
  const started = Date.now()
  say(`Holdfast demo in ${root}\n`)
  const sample = join(root, 'sample')
  await makeSample(sample)
  const names = ['owner', ...Array.from({ length: 6 }, (_, i) => `host-${i + 1}`)]
  const homes = names.map(n => join(root, n))
  const siteOf = (i: number): string => i === 0 ? 'home' : ['attic', 'office', 'cousin'][(i - 1) % 3]
  for (const [i, name] of names.entries()) {
    const args = ['init', '--name', name, '--site', siteOf(i)]
    if (i === 0) args.push('--data-shards', '4', '--parity-shards', '2', '--pack-size', '1MiB')
    await step(homes[i], args, { quiet: i > 1 })
  }
  // the owner's daemon audits and repairs on its own once a day; the demo runs those rounds itself
  // only the owner serves a dashboard (on any free port: a real daemon may hold 8486)
  const ownerConfig = { maintenance: { enabled: false }, gui: { listen: '127.0.0.1:0' }, backup: { sets: [{ name: 'sample', paths: [sample] }] } }
  await writeFile(join(homes[0], 'node.json'), JSON.stringify(ownerConfig))
  for (const home of homes.slice(1)) await writeFile(join(home, 'node.json'), JSON.stringify({ gui: { enabled: false } }))

  say('\nStarting 7 daemons on 127.0.0.1...')
  daemons.push(...await Promise.all(homes.map(async home => await startDaemon(home, { HOLDFAST_PASSPHRASE: PASSPHRASE }))))
  for (const [i, d] of daemons.entries()) say(`    ${names[i].padEnd(7)} ${d.peerId}  ${d.addresses[0]}  api ${d.api}`)
  const [owner, ...hosts] = daemons

  say('\nPairing: each host invites the owner, the owner accepts the code')
  for (const h of hosts) {
    const code = (await step(h.home, ['peers', 'invite', '--quota', '1GiB', '--name', 'owner'])).trim()
    await step(owner.home, ['peers', 'accept', code, '--quota', '1GiB'])
  }
  await step(owner.home, ['peers', 'list'])

  say('\nBackup onto the hosts at 4+2 (each 1 MiB pack becomes 6 shards on 6 distinct hosts)')
  await step(owner.home, ['backup', '--set', 'sample'])
  await writeFile(join(sample, 'documents', 'note-2.txt'), 'changed after the first backup\n')
  await step(owner.home, ['backup', '--set', 'sample'])
  await step(owner.home, ['snapshots'])
  await step(owner.home, ['peers', 'list'])

  say('\nhost-1 silently loses every shard it keeps for the owner; an audit finds it, repair heals it')
  const lostFiles = await shardFiles(join(hosts[0].home, 'shards', owner.peerId))
  for (const f of lostFiles) await rm(f)
  say(`    deleted ${lostFiles.length} shard files on host-1`)
  await step(owner.home, ['audit'], { expect: 1 })
  await step(owner.home, ['health'], { expect: 3 })
  await step(owner.home, ['repair'])
  await step(owner.home, ['health'])

  say('\nStopping host-2 and host-5 (any 4 shards of each pack are enough)')
  for (const i of [1, 4]) {
    const code = await hosts[i].stop()
    say(`    ${names[i + 1]} stopped (exit ${String(code)})`)
  }
  const target = join(root, 'restored')
  await step(owner.home, ['restore', 'latest', '--target', target])
  const diffs = await compareTrees(sample, join(target, sample))
  if (diffs.length > 0) throw new Error(`restored tree differs:\n${diffs.join('\n')}`)
  say('    compared: every file, directory, symlink, mode and mtime equals the original')

  say('\nhost-2 and host-5 come back; the owner keeps the newest snapshot only and prunes')
  for (const i of [1, 4]) daemons[i + 1] = hosts[i] = await startDaemon(homes[i + 1], { HOLDFAST_PASSPHRASE: PASSPHRASE })
  await step(owner.home, ['sessions'])
  await step(owner.home, ['forget', '--keep-last', '1', '--prune'])

  say('\nThe owner\'s machine burns: a recovery kit and the passphrase bring it back on a new home')
  const kit = join(root, 'recovery-kit.json')
  await step(owner.home, ['recovery-kit', '--out', kit])
  say('    after the kit, a second passphrase is added: the kit opens with it too (the hosts keep the current keys for the kits)')
  const SPARE = 'a spare passphrase added after the kit'
  await step(owner.home, ['key', 'add', '--label', 'spare'], { env: { HOLDFAST_NEW_PASSPHRASE: SPARE } })
  await owner.stop()
  await rm(owner.home, { recursive: true, force: true })
  say('    owner stopped and its home deleted')
  const newHome = join(root, 'owner-new-machine')
  await step(newHome, ['recover', '--home', newHome, '--kit', kit, '--listen', '/ip4/127.0.0.1/tcp/0'], { env: { HOLDFAST_PASSPHRASE: SPARE } })
  await writeFile(join(newHome, 'node.json'), JSON.stringify(ownerConfig))
  const recovered = daemons[0] = await startDaemon(newHome, { HOLDFAST_PASSPHRASE: PASSPHRASE })
  say(`    the new machine runs as ${recovered.peerId} (the same peer id: no pairing again)`)
  await step(newHome, ['snapshots'])
  const target2 = join(root, 'restored-after-recovery')
  await step(newHome, ['restore', 'latest', '--target', target2])
  const diffs2 = await compareTrees(sample, join(target2, sample))
  if (diffs2.length > 0) throw new Error(`the tree restored after recovery differs:\n${diffs2.join('\n')}`)
  say('    compared: byte-identical again')
  say('\nThe new machine backs up the set again (its hosts still trust it)')
  await step(newHome, ['backup', '--set', 'sample'])

  say('\nA standby copy: a folder kept equal to the set\'s latest snapshot, then following a new backup')
  const standby = join(root, 'standby')
  await step(newHome, ['standby', '--target', standby, '--set', 'sample'])
  await writeFile(join(sample, 'documents', 'note-3.txt'), 'written after the standby was made\n')
  await rm(join(sample, 'documents', 'note-2.txt'))
  await step(newHome, ['backup', '--set', 'sample'])
  await step(newHome, ['standby', '--target', standby, '--set', 'sample'])
  const standbyDiffs = await compareTrees(sample, join(standby, sample))
  if (standbyDiffs.length > 0) throw new Error(`the standby folder differs from the sample:\n${standbyDiffs.join('\n')}`)
  say('    compared: the standby folder equals the sample (the new file there, the deleted one gone)')

  say('\nA second device of the owner (a laptop): linked by a one-time code, it restores from the same hosts')
  const linkCode = (await step(newHome, ['device', 'link', '--name', 'laptop'])).trim()
  const laptopHome = join(root, 'laptop')
  await step(laptopHome, ['device', 'join', linkCode, '--home', laptopHome, '--name', 'laptop', '--listen', '/ip4/127.0.0.1/tcp/0'])
  for (let told = 0; told < hosts.length;) {
    await new Promise(resolve => setTimeout(resolve, 300))
    told = Math.min(...(JSON.parse(await step(newHome, ['device', 'list', '--json'], { quiet: true })) as Array<{ hostsTold: number }>).map(d => d.hostsTold))
  }
  await writeFile(join(laptopHome, 'node.json'), JSON.stringify({ gui: { enabled: false } }))
  daemons.push(await startDaemon(laptopHome, { HOLDFAST_PASSPHRASE: PASSPHRASE }))
  await step(laptopHome, ['snapshots'])
  const target3 = join(root, 'restored-on-laptop')
  await step(laptopHome, ['restore', 'latest', '--target', target3])
  const diffs3 = await compareTrees(sample, join(target3, sample))
  if (diffs3.length > 0) throw new Error(`the tree restored on the second device differs:\n${diffs3.join('\n')}`)
  say('    compared: byte-identical on the second device')
  await step(laptopHome, ['prune'], { expect: 14 })

  const dashboard = (JSON.parse(await readFile(join(newHome, 'daemon.json'), 'utf8')) as { gui?: string }).gui
  if (dashboard == null) throw new Error('the recovered owner serves no dashboard')
  const overview = await (await fetch(`${dashboard}/api/v1/overview`)).json() as { summary: string }
  say(`\nThe owner's dashboard: ${dashboard}\n    ${overview.summary}`)
  say('\nSummary')
  say('  7 daemons on 127.0.0.1: 1 owner, 6 hosts in 3 sites, paired by one-time invite codes')
  say('  2 backups at 4 data + 2 parity shards per pack, placed on 6 distinct hosts (hosts see only ciphertext)')
  say('  audit found the shards a host lost (Merkle-proof challenges), repair regenerated them from 4 good ones')
  say('  restore with 2 of the 6 hosts stopped: byte-identical, with modes, mtimes and symlinks')
  say('  forget --keep-last 1 --prune: the hosts deleted what only the older snapshot needed')
  say('  recovery from the kit and the passphrase on a new home: same identity, same snapshots, byte-identical restore')
  say('  a standby folder kept equal to the latest snapshot, following a backup (new and deleted files)')
  say('  a second device joined by a one-time code: restores byte-identically from the hosts, refused a prune')
  say(`  dashboard, REST API and metrics of the owner at ${dashboard}`)
  say(`  total ${((Date.now() - started) / 1000).toFixed(1)} s`)
  if (wait) {
    say(`\nOpen ${dashboard} in a browser to see the demo network. Ctrl-C stops the daemons and ends the demo.`)
    await new Promise<void>(resolve => { for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => resolve()) })
  }
  say('\nStopping the daemons...')
  const codes = await Promise.all(daemons.map(async d => await d.stop()))
  if (codes.some(c => c !== 0)) throw new Error(`a daemon did not stop cleanly: exit codes ${codes.join(', ')}`)
  say('\ndemo OK')
} catch (err) {
  say(`\ndemo FAILED: ${(err as Error).message}`)
  for (const d of daemons) {
    const out = d.output().trim()
    if (out !== '') say(`--- output of the daemon in ${d.home}:\n${out}`)
  }
  process.exitCode = 1
} finally {
  await Promise.all(daemons.map(async d => await d.stop()))
  if (keep) say(`(kept ${root})`)
  else await rm(root, { recursive: true, force: true })
}
