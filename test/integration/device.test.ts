import assert from 'node:assert/strict'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { compareTrees } from '../../scripts/lib/tree-compare.js'
import { expectCode, hf, makeTempDir, pairWithHosts, parseJson, removeDir, shardFiles, writeRandom } from './helpers.js'

/**
 * A second device of the same owner (real daemons on 127.0.0.1): `device link` on the owner's node,
 * `device join` on a new home; the device's own daemon lists and restores the owner's snapshots from the
 * same hosts, any k of n, and is refused every command that writes (prune, backup); the hosts refuse it
 * once the owner revokes it.
 */
interface DeviceRow { peerId: string, name: string, hostsTold: number }

describe('daemons on 127.0.0.1: a second device joined by code reads the owner\'s repository', function () {
  this.timeout(240_000)
  let dir: string
  let owner: RunningDaemon
  let device: RunningDaemon | undefined
  let writer: RunningDaemon | undefined
  let hostListen = ''
  const hosts: RunningDaemon[] = []
  let src: string
  let deviceHome: string

  before(async function () {
    dir = await makeTempDir('device')
    const names = ['owner', ...Array.from({ length: 6 }, (_, i) => `host${i + 1}`)]
    await Promise.all(names.map(async (name, i) => {
      const args = ['init', '--home', join(dir, name), '--name', name, '--site', i === 0 ? 'home' : `site${i % 3}`]
      if (i === 0) args.push('--pack-size', '256KiB', '--data-shards', '4', '--parity-shards', '2')
      expectCode(await hf(join(dir, name), args), 0, `init ${name}`)
    }))
    owner = await startDaemon(join(dir, 'owner'))
    hosts.push(...await Promise.all(names.slice(1).map(async name => await startDaemon(join(dir, name)))))
    await pairWithHosts(owner, hosts)
    src = join(dir, 'src')
    await mkdir(join(src, 'docs'), { recursive: true })
    for (let i = 0; i < 4; i++) await writeRandom(join(src, `f${i}.bin`), 400_000)
    await writeRandom(join(src, 'docs', 'small.txt'), 3_000)
    expectCode(await hf(owner.home, ['backup', src]), 0, 'owner backup')
    deviceHome = join(dir, 'laptop')
  })

  after(async () => {
    await Promise.all([owner, device, writer, ...hosts].filter(d => d != null).map(async d => await d!.stop()))
    await removeDir(dir)
  })

  const waitTold = async (count: number): Promise<DeviceRow[]> => {
    const deadline = Date.now() + 60_000
    for (;;) {
      const list = parseJson<DeviceRow[]>(await hf(owner.home, ['device', 'list', '--json']), 'device list')
      if (list.length > 0 && list.every(d => d.hostsTold >= count)) return list
      if (Date.now() > deadline) assert.fail(`the hosts were not all told of the device: ${JSON.stringify(list)}`)
      await new Promise(resolve => setTimeout(resolve, 300))
    }
  }

  it('link, join: the device restores byte-identically from the hosts, with a host stopped too; backup --stdin of 200 MB and dump through the daemons; the device writes nothing, and a prune or backup is refused', async () => {
    const link = await hf(owner.home, ['device', 'link', '--name', 'laptop'])
    expectCode(link, 0, 'device link')
    const code = link.stdout.trim()
    const join1 = await hf(deviceHome, ['device', 'join', code, '--home', deviceHome, '--name', 'laptop', '--listen', '/ip4/127.0.0.1/tcp/0', '--json'])
    expectCode(join1, 0, 'device join')
    const joined = parseJson<{ owner: string, role: string, hosts: number }>(join1, 'device join')
    assert.equal(joined.owner, owner.peerId)
    assert.equal(joined.role, 'read')
    assert.equal(joined.hosts, 6)
    // the code works once
    const again = await hf(join(dir, 'other'), ['device', 'join', code, '--home', join(dir, 'other'), '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.notEqual(again.code, 0, 'a used code')
    assert.match(again.stderr, /already been used/)
    await assert.rejects(readdir(join(dir, 'other')), { code: 'ENOENT' }, 'a failed join leaves no home')

    await waitTold(6)
    device = await startDaemon(deviceHome)

    const snaps = await hf(deviceHome, ['snapshots', '--json'])
    expectCode(snaps, 0, 'snapshots on the device')
    const [first] = parseJson<Array<{ id: string }>>(snaps, 'snapshots')
    assert.ok(first != null)
    const target = join(dir, 'restore-on-device')
    expectCode(await hf(deviceHome, ['restore', 'latest', '--target', target]), 0, 'restore on the device')
    assert.deepEqual(await compareTrees(src, join(target, src)), [])

    const data = randomBytes(200 * 1024 * 1024)
    const r = await hf(owner.home, ['backup', '--json', '--stdin', '--stdin-name', 'db.dump'], {}, data)
    expectCode(r, 0, 'backup --stdin through the daemon')
    const summary = parseJson<{ totalBytes: number, totalFiles: number }>(r, 'backup')
    assert.deepEqual({ files: summary.totalFiles, bytes: summary.totalBytes }, { files: 1, bytes: data.length })
    const dumped = await hf(owner.home, ['dump', 'latest', '/db.dump'])
    expectCode(dumped, 0, 'dump to stdout through the daemon')
    assert.ok(dumped.bytes?.equals(data), `dump gives the 200 MB back (${dumped.bytes?.length ?? 0} bytes)`)
    // the device dumps to its standard output through its own daemon too (a file of the tree: the stream's 200 MB once is enough)
    const onDevice = await hf(deviceHome, ['dump', first.id, join(src, 'docs', 'small.txt')])
    expectCode(onDevice, 0, 'dump on the device')
    assert.ok(onDevice.bytes?.equals(await readFile(join(src, 'docs', 'small.txt'))), 'the device dumps the same bytes')
    // a stream cut short: a backup of an empty stdin stores an empty file, nothing is left half-done
    const empty = await hf(owner.home, ['backup', '--json', '--stdin', '--stdin-name', 'empty'], {}, Buffer.alloc(0))
    expectCode(empty, 0, 'backup of an empty stream')

    // any k of n: a host stopped
    hostListen = hosts[0].addresses[0].replace(/\/p2p\/.*$/, '')
    await hosts[0].stop()
    const target2 = join(dir, 'restore-on-device-2')
    expectCode(await hf(deviceHome, ['restore', 'latest', '--path', src, '--target', target2]), 0, 'restore on the device with a host stopped')
    assert.deepEqual(await compareTrees(src, join(target2, src)), [])

    // the owner's commands are refused on the device, and nothing was written on the hosts
    const shardsBefore = await Promise.all(hosts.map(async h => (await shardFiles(join(h.home, 'shards', owner.peerId))).length))
    const prune = await hf(deviceHome, ['prune'])
    expectCode(prune, 14, 'prune on the device')
    assert.match(prune.stderr, /device with read access/)
    const backup = await hf(deviceHome, ['backup', src])
    expectCode(backup, 14, 'backup on the device')
    const shardsAfter = await Promise.all(hosts.slice(1).map(async h => (await shardFiles(join(h.home, 'shards', owner.peerId))).length))
    assert.deepEqual(shardsAfter, shardsBefore.slice(1))
    for (const h of hosts.slice(1)) assert.deepEqual(await readdir(join(h.home, 'shards', device.peerId)).catch(() => []), [], 'nothing of the device\'s own on the hosts')
  })

  it('a device given the write role backs up into the owner\'s repository from its own daemon; its snapshot restores byte-identical on the owner after a rebuild from the stores', async () => {
    // host1 is back for the 4+2 spread (the test before stopped it)
    hosts[0] = await startDaemon(hosts[0].home, {}, { listen: [hostListen] })
    const link = await hf(owner.home, ['device', 'link', '--name', 'desktop', '--role', 'write'])
    expectCode(link, 0, 'device link --role write')
    const desktopHome = join(dir, 'desktop')
    expectCode(await hf(desktopHome, ['device', 'join', link.stdout.trim(), '--home', desktopHome, '--listen', '/ip4/127.0.0.1/tcp/0']), 0, 'device join (write)')
    await waitTold(6)
    writer = await startDaemon(desktopHome)
    const theirs = join(dir, 'desktop-src')
    await mkdir(theirs)
    await writeRandom(join(theirs, 'report.bin'), 600_000)
    const b = await hf(desktopHome, ['backup', '--json', theirs])
    expectCode(b, 0, 'backup on the write device')
    const id = parseJson<{ snapshot: string }>(b, 'backup').snapshot
    const target = join(dir, 'restore-desktop')
    expectCode(await hf(desktopHome, ['restore', id, '--target', target]), 0, 'restore on the write device')
    assert.deepEqual(await compareTrees(theirs, join(target, theirs)), [])
    // the owner finds it in the records the stores hold
    expectCode(await hf(owner.home, ['rebuild-index']), 0, 'rebuild-index on the owner')
    const onOwner = join(dir, 'restore-desktop-on-owner')
    expectCode(await hf(owner.home, ['restore', id, '--target', onOwner]), 0, 'the owner restores the device\'s snapshot')
    assert.deepEqual(await compareTrees(theirs, join(onOwner, theirs)), [])
  })

  it('revoked by the owner: the hosts refuse the device', async () => {
    assert.ok(device != null)
    expectCode(await hf(owner.home, ['device', 'revoke', 'laptop']), 0, 'device revoke')
    // the live hosts are told at once (the stopped one when it is back)
    const deadline = Date.now() + 30_000
    let r
    for (;;) {
      r = await hf(deviceHome, ['restore', 'latest', '--path', src, '--target', join(dir, 'restore-revoked')])
      if (r.code !== 0) break
      if (Date.now() > deadline) assert.fail('the device still restores after its revocation')
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /no device of|unreachable|not trusted/, r.stderr.slice(0, 2000))
    // the hosts no longer list the device as trusted
    for (const h of hosts.slice(1)) {
      const trust = JSON.parse(await readFile(join(h.home, 'trust.json'), 'utf8')) as { peers: Array<{ peerId: string, revoked?: boolean, deviceOf?: string }> }
      const entry = trust.peers.find(p => p.peerId === device!.peerId)
      assert.equal(entry?.deviceOf, owner.peerId)
      assert.equal(entry?.revoked, true)
    }
  })
})
