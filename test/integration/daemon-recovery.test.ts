import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { hostname } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, fileHashes, hf, makeTempDir, parseJson, removeDir, shardFiles, writeRandom, pairWithHosts, PASSPHRASE } from './helpers.js'
import { isPlainKeyFile } from '../../src/repository/key-record.js'

/**
 * Retention and recovery over the network (real daemons on 127.0.0.1): forget + prune make the hosts
 * free the space and their usage figures drop; a recovery kit and the passphrase rebuild the owner on a
 * fresh home, recognised by its peers without pairing again, and its snapshots restore byte-identically.
 */
const KiB = 1024
interface PeerJson { peerId: string, name: string, online: boolean, storedForThem: number, storesForMe: number }

/** Files below a directory (none when it does not exist). */
async function filesBelow (root: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }).catch(() => [])) if (e.isFile()) out.push(e.name)
  return out
}

describe('daemons on 127.0.0.1: prune frees the hosts, recovery from kit and passphrase', function () {
  this.timeout(240_000)
  let dir: string
  let owner: RunningDaemon
  const hosts: RunningDaemon[] = []
  let src: string
  let latest: Map<string, string>
  const hostBytes = async (): Promise<number> => {
    let n = 0
    for (const h of hosts) for (const f of await shardFiles(join(h.home, 'shards', owner.peerId))) n += (await stat(f)).size
    return n
  }
  const storedForOwner = async (h: RunningDaemon): Promise<number> => {
    const r = await hf(h.home, ['peers', 'list', '--json'])
    expectCode(r, 0, 'peers list')
    return parseJson<PeerJson[]>(r, 'peers list').find(p => p.peerId === owner.peerId)!.storedForThem
  }

  before(async function () {
    dir = await makeTempDir('daemon-recovery')
    const names = ['owner', 'host1', 'host2', 'host3']
    await Promise.all(names.map(async (name, i) => {
      const args = ['init', '--home', join(dir, name), '--name', name]
      if (i === 0) args.push('--pack-size', '128KiB', '--data-shards', '2', '--parity-shards', '1')
      expectCode(await hf(join(dir, name), args), 0, `init ${name}`)
    }))
    owner = await startDaemon(join(dir, 'owner'))
    hosts.push(...await Promise.all(names.slice(1).map(async name => await startDaemon(join(dir, name)))))
    await pairWithHosts(owner, hosts)
    src = join(dir, 'src')
    await mkdir(src)
    await writeRandom(join(src, 'keep.bin'), 300 * KiB)
    await writeRandom(join(src, 'old.bin'), 900 * KiB)
    expectCode(await hf(owner.home, ['backup', src]), 0, 'backup 1')
    await rm(join(src, 'old.bin'))
    await writeRandom(join(src, 'new.bin'), 200 * KiB)
    expectCode(await hf(owner.home, ['backup', src]), 0, 'backup 2')
    latest = await fileHashes(src)
  })

  after(async function () {
    await Promise.all([owner, ...hosts].filter(d => d != null).map(async d => await d.stop()))
    await removeDir(dir)
  })

  it('forget --keep-last 1 --prune: the hosts delete the shards, their usage figures drop, the rest restores', async function () {
    const before = await hostBytes()
    const usageBefore = await Promise.all(hosts.map(storedForOwner))
    const r = await hf(owner.home, ['forget', '--json', '--keep-last', '1', '--prune'])
    expectCode(r, 0, 'forget --prune')
    const out = parseJson<{ removed: string[], prune: { shardsDeleted: number, bytesFreed: number, deferred: number } }>(r, 'forget')
    assert.equal(out.removed.length, 1)
    assert.equal(out.prune.deferred, 0)
    const after = await hostBytes()
    // old.bin (900 KiB, stored 1.5x over 3 hosts) was needed by the forgotten snapshot only
    assert.ok(before - after >= 900 * KiB * 1.5 * 0.9, `hosts freed ${before - after} bytes`)
    const usageAfter = await Promise.all(hosts.map(storedForOwner))
    for (let i = 0; i < hosts.length; i++) assert.ok(usageAfter[i] < usageBefore[i] - 300 * KiB, `host${i + 1} usage ${usageBefore[i]} -> ${usageAfter[i]}`)
    const target = join(dir, 'restore-after-prune')
    expectCode(await hf(owner.home, ['restore', 'latest', '--target', target]), 0, 'restore')
    assert.deepEqual(await fileHashes(join(target, src)), latest)
  })

  it('seed export --peer writes the shards meant for a host; seed import on it takes them in, verified', async function () {
    const host3 = hosts[2]
    const mine = join(host3.home, 'shards', owner.peerId)
    const originals = new Map<string, Buffer>()
    for (const f of await shardFiles(mine)) originals.set(f.split('/').pop()!, await readFile(f))
    assert.ok(originals.size >= 2, `host3 holds ${originals.size} shards`)
    // the slow uplink: host3 has none of them (yet)
    for (const f of await shardFiles(mine)) await rm(f)
    const seed = join(dir, 'seed-disk')
    const e = await hf(owner.home, ['seed', 'export', '--json', '--peer', 'host3', seed])
    expectCode(e, 0, 'seed export')
    const exported = parseJson<{ shards: number, bytes: number }>(e, 'seed export')
    assert.equal(exported.shards, originals.size)
    // a seed meant for host3 is refused by host2
    const wrongHost = await hf(hosts[1].home, ['seed', 'import', seed])
    expectCode(wrongHost, 1, 'seed import on another host')
    assert.match(wrongHost.stderr, /meant for/)
    // one shard damaged on the way is refused; the others go in
    const names = [...originals.keys()]
    const damaged = join(seed, 'shards', names[0].slice(0, 2), names[0])
    const bytes = await readFile(damaged)
    bytes[5] ^= 0xff
    await writeFile(damaged, bytes)
    const i = await hf(host3.home, ['seed', 'import', '--json', seed])
    expectCode(i, 3, 'seed import with a damaged shard')
    const imported = parseJson<{ imported: number, refused: Array<{ name: string, reason: string }> }>(i, 'seed import')
    assert.equal(imported.imported, originals.size - 1)
    assert.deepEqual(imported.refused.map(r => r.name), [names[0]])
    assert.match(imported.refused[0].reason, /do not hash to its name/)
    for (const f of await shardFiles(mine)) {
      const name = f.split('/').pop()!
      assert.notEqual(name, names[0])
      assert.deepEqual(await readFile(f), originals.get(name), `shard ${name} byte-identical`)
    }
    assert.equal((await shardFiles(mine)).length, originals.size - 1)
    // a forged manifest (signature no longer matches) is refused whole
    const manifestPath = join(seed, 'manifest.json')
    const doc = JSON.parse(await readFile(manifestPath, 'utf8'))
    doc.manifest.created = new Date(0).toISOString()
    await writeFile(manifestPath, JSON.stringify(doc))
    const forged = await hf(host3.home, ['seed', 'import', seed])
    expectCode(forged, 1, 'forged seed')
    assert.match(forged.stderr, /not signed by its owner/)
  })

  it('a home recovered while the original daemon runs: its prune is refused while the original backs up (exit 11, naming the holder)', async function () {
    const kitPath = join(dir, 'kit-second.json')
    expectCode(await hf(owner.home, ['recovery-kit', '--out', kitPath]), 0, 'recovery-kit')
    // the user recovers on a second machine while the first still runs (the same identity twice)
    const home2 = join(dir, 'second-home')
    const r = await hf(home2, ['recover', '--json', '--home', home2, '--kit', kitPath, '--listen', '/ip4/127.0.0.1/tcp/0', '--wait', '60'])
    expectCode(r, 0, 'recover beside the running original')
    const second = await startDaemon(home2)
    try {
      const big = join(dir, 'two-homes')
      await mkdir(big)
      await writeRandom(join(big, 'large.bin'), 3 * 1024 * KiB)
      const before = await hostBytes()
      // about 5 s at 1 MiB/s (3 MiB stored 1.5x)
      const backup = hf(owner.home, ['backup', '--limit-upload', '1MiB', big])
      const until = Date.now() + 30_000
      while (await hostBytes() === before && Date.now() < until) await sleep(100)
      const p = await hf(home2, ['prune'])
      expectCode(p, 11, 'prune in the recovered home during the backup')
      const escaped = owner.home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      assert.match(p.stderr, new RegExp(`locked by backup \\(shared\\), process ${owner.process.pid!} on host ${hostname()}, home ${escaped}, for \\d+`))
      expectCode(await backup, 0, 'the original backup completes')
      // once the backup is done the lock is gone: the recovered home may prune, and nothing of the backup is lost
      expectCode(await hf(home2, ['prune']), 0, 'prune after the backup')
      const target = join(dir, 'two-homes-restore')
      expectCode(await hf(owner.home, ['restore', 'latest', '--target', target]), 0, 'restore of the new backup')
      assert.deepEqual(await fileHashes(join(target, big)), await fileHashes(big))
    } finally {
      await second.stop()
      await removeDir(home2)
    }
  })

  it('recovery-kit + passphrase rebuild the owner on a fresh home; peers know it; snapshots restore byte-identically', async function () {
    const kitPath = join(dir, 'kit.json')
    expectCode(await hf(owner.home, ['recovery-kit', '--out', kitPath]), 0, 'recovery-kit')
    const kitSize = (await stat(kitPath)).size
    assert.ok(kitSize < 8 * KiB, `the kit is small: ${kitSize} bytes`)
    // after the kit was made the passphrase changes (the old one removed) and the keys rotate (it may have
    // leaked): the kit must open with the new passphrase alone, and read what the new key epoch writes
    const NEW = 'the passphrase after the kit'
    const asNew = { HOLDFAST_PASSPHRASE: NEW }
    const passwd = await hf(owner.home, ['key', 'passwd'], { HOLDFAST_NEW_PASSPHRASE: NEW })
    expectCode(passwd, 0, 'key passwd after the kit')
    assert.match(passwd.stdout, /recovery kits open with the keys as they are now: the hosts keep them for the kits \(3 of 3 up to date\)/)
    expectCode(await hf(owner.home, ['key', 'rotate'], asNew), 0, 'key rotate after the kit')
    expectCode(await hf(owner.home, ['backup', src], asNew), 0, 'backup after the kit')
    for (const h of hosts) {
      // the key record (sealed under the repository's keys) and the kit escrow (under the kit secret): nothing to try a passphrase on
      const keyDir = join(h.home, 'shards', owner.peerId, 'key')
      const keyObjects = (await readdir(keyDir, { withFileTypes: true, recursive: true }).catch(() => [])).filter(e => e.isFile() && /^[0-9a-f]{64}$/.test(e.name)).map(e => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
      assert.equal(keyObjects.length, 2, `${h.home} keeps the key record and the kit escrow, no older ones`)
      for (const f of keyObjects) {
        const record = await readFile(f)
        assert.ok(!isPlainKeyFile(record), `${h.home} keeps no plain key file`)
        assert.ok(!record.toString('latin1').includes('scrypt'), 'nothing readable in it')
      }
      assert.ok((await filesBelow(join(h.home, 'shards', owner.peerId, 'snapshot'))).length > 0, `${h.home} keeps the snapshot records`)
    }
    const snapsBefore = parseJson<Array<{ id: string }>>(await hf(owner.home, ['snapshots', '--json'], asNew), 'snapshots').map(s => s.id)
    const oldPeerId = owner.peerId
    // the machine burns
    await owner.stop()
    await removeDir(owner.home)

    const fresh = join(dir, 'new-machine')
    const wrong = await hf(fresh, ['recover', '--home', fresh, '--kit', kitPath, '--listen', '/ip4/127.0.0.1/tcp/0'], { HOLDFAST_PASSPHRASE: 'not the passphrase' })
    expectCode(wrong, 12, 'recover with a wrong passphrase')
    await assert.rejects(stat(fresh), 'nothing written with a wrong passphrase')
    // the passphrase the kit was made with was removed since: it opens nothing any more, the kit included
    const removed = await hf(fresh, ['recover', '--home', fresh, '--kit', kitPath, '--listen', '/ip4/127.0.0.1/tcp/0'])
    expectCode(removed, 12, 'recover with the removed passphrase')
    assert.match(removed.stderr, /opens none of the repository's keys/)
    await assert.rejects(stat(fresh), 'nothing written with a removed passphrase')

    const r = await hf(fresh, ['recover', '--json', '--home', fresh, '--kit', kitPath, '--listen', '/ip4/127.0.0.1/tcp/0', '--wait', '60'], asNew)
    expectCode(r, 0, 'recover with the passphrase set after the kit')
    const rec = parseJson<{ peerId: string, snapshots: number, peersOnline: number, keyFrom: string, keysUpdated: boolean }>(r, 'recover')
    assert.equal(rec.peerId, oldPeerId)
    assert.match(rec.keyFrom, /^the hosts \([1-3] answered\)$/)
    assert.equal(rec.keysUpdated, false, 'the hosts gave the current key file, rotation included')
    assert.equal(rec.snapshots, snapsBefore.length)

    // the node config of the new machine names the set the old one backed up, and a dashboard
    const configFile = join(fresh, 'node.json')
    const config = JSON.parse(await readFile(configFile, 'utf8').catch(() => '{}')) as Record<string, unknown>
    await writeFile(configFile, JSON.stringify({ ...config, gui: { listen: '127.0.0.1:0' }, maintenance: { enabled: false }, backup: { sets: [{ name: 'src', paths: [src] }] } }))
    owner = await startDaemon(fresh)
    assert.equal(owner.peerId, oldPeerId, 'the same identity')
    // the session log stayed on the burnt machine: the dashboard counts the recovered snapshots instead
    const gui = (JSON.parse(await readFile(join(fresh, 'daemon.json'), 'utf8')) as { gui: string }).gui
    const newest = parseJson<Array<{ time: string }>>(await hf(fresh, ['snapshots', '--json'], asNew), 'snapshots').map(s => s.time).sort().pop()
    const sets = await (await fetch(`${gui}/api/v1/sets`)).json() as Array<{ name: string, lastSuccess: string | null, lastSession: unknown }>
    assert.equal(sets[0].lastSession, null)
    assert.equal(sets[0].lastSuccess, newest)
    const overview = await (await fetch(`${gui}/api/v1/overview`)).json() as { warnings: Array<{ message: string }>, lastBackup: string | null }
    assert.doesNotMatch(overview.warnings.map(w => w.message).join('\n'), /never been backed up/)
    assert.equal(overview.lastBackup, newest)
    const snaps = parseJson<Array<{ id: string }>>(await hf(fresh, ['snapshots', '--json'], asNew), 'snapshots').map(s => s.id)
    assert.deepEqual(snaps, snapsBefore)
    const target = join(dir, 'restore-recovered')
    expectCode(await hf(fresh, ['restore', 'latest', '--target', target], asNew), 0, 'restore on the new machine')
    assert.deepEqual(await fileHashes(join(target, src)), latest)
    // the hosts still trust it (no pairing again): a new backup lands on them
    await writeRandom(join(src, 'after-recovery.bin'), 100 * KiB)
    expectCode(await hf(fresh, ['backup', src], asNew), 0, 'backup after recovery')
    for (const h of hosts) assert.ok(await storedForOwner(h) > 0)
    // the tests after this one use the first passphrase again
    expectCode(await hf(fresh, ['key', 'passwd'], { ...asNew, HOLDFAST_NEW_PASSPHRASE: PASSPHRASE }), 0, 'key passwd back')
  })

  it('a restore takes priority: a backup under way pauses while it runs, then completes', async function () {
    const storedBytes = async (): Promise<number> => {
      let n = 0
      for (const h of hosts) for (const f of await shardFiles(join(h.home, 'shards', owner.peerId))) n += (await stat(f)).size
      return n
    }
    const big = join(dir, 'big')
    await mkdir(big)
    await writeRandom(join(big, 'large.bin'), 6 * 1024 * KiB)
    // about 9 s at 1 MiB/s (6 MiB stored 1.5x)
    const backup = hf(owner.home, ['backup', '--limit-upload', '1MiB', big])
    await sleep(2500)
    // the latest snapshot (about 600 KiB) at 64 KiB/s: about 9 s, longer than what is left of the backup
    const restore = hf(owner.home, ['restore', 'latest', '--target', join(dir, 'priority-restore'), '--limit-download', '64KiB'])
    await sleep(1000)
    const during = await storedBytes()
    const r = await restore
    const afterRestore = await storedBytes()
    expectCode(r, 0, 'restore beside a backup')
    const b = await backup
    expectCode(b, 0, 'the backup completes after the restore')
    const end = await storedBytes()
    const seconds = (r.ms - 1000) / 1000
    const msg = `stored ${during} -> ${afterRestore} (while the restore ran ${seconds.toFixed(1)} s) -> ${end} bytes; backup ${b.ms} ms`
    assert.ok(seconds > 3, msg)
    // unpaused, the backup would have stored all it had left (several MiB) meanwhile; paused, at most the
    // pack already on its way (a 1 MiB chunk, stored 1.5x)
    assert.ok(afterRestore - during <= 2.5 * 1024 * KiB, msg)
    assert.ok(end - afterRestore >= 3 * 1024 * KiB, `the backup went on after the restore: ${msg}`)
  })
})
