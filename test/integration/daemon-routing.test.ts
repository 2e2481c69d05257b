import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ApiClient } from '../../src/api/index.js'
import { startDaemon, type RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { compareTrees } from '../../scripts/lib/tree-compare.js'
import { expectCode, hf, makeTempDir, parseJson, removeDir, writeRandom, waitFor } from './helpers.js'

/**
 * Real daemons in separate processes on 127.0.0.1, mDNS off: how the owner reaches hosts it cannot
 * simply dial at a known address.
 *
 * The owner listens nowhere (a laptop behind a NAT): it dials its hosts and no host can dial it. Five
 * hosts: h1 and h2 are also paired with each other (friends), h3 is plain, `relay` has relay.server on,
 * and `relayed` listens nowhere either but holds a reservation on `relay` (relay.reserve), so the owner
 * reaches it only at /.../p2p/RELAY/p2p-circuit. The owner backs up at 3 + 2: each pack puts one shard
 * on each of the five hosts, and a restore with two hosts stopped needs all three others.
 *
 * - The relayed host receives shards of several MiB through the relay and serves them: a restore with
 *   h1 and h3 stopped needs it.
 * - h1 comes back on a new port (its old one now refuses connections). The owner knows only the old
 *   address, cannot be dialled by h1 and has no mDNS: it can only find h1 through h2, to which h1
 *   reconnects: in the DHT, where h2 answers for it, or by asking h2 directly (locate), side by side. A restore with h3 and the relayed host stopped needs h1,
 *   and the owner retries lost peers only every minute: the restore itself must find h1.
 */
const NAMES = ['owner', 'h1', 'h2', 'h3', 'relay', 'relayed'] as const
type Name = typeof NAMES[number]
const HOSTS: Name[] = ['h1', 'h2', 'h3', 'relay', 'relayed']

interface PeerRow { peerId: string, name: string, online: boolean, onlineVia?: string, addresses: string[], connections: string[] }
interface Status { peerId: string, addresses: string[], relays: Array<{ relay: string, reserved: boolean, addresses: string[] }> }

const portOf = (addr: string): number => Number(/\/tcp\/(\d+)/.exec(addr)?.[1])

/** Shard files a host keeps for an owner (HOME/shards/<owner>/shard/<2 hex>/<name>), with their sizes. */
async function hostedShards (home: string, owner: string): Promise<number[]> {
  const root = join(home, 'shards', owner, 'shard')
  const sizes: number[] = []
  let prefixes: string[]
  try { prefixes = await readdir(root) } catch { return sizes }
  for (const p of prefixes) {
    for (const name of await readdir(join(root, p))) sizes.push((await stat(join(root, p, name))).size)
  }
  return sizes
}

describe('daemons on 127.0.0.1: a host reached through a relay, a host found again through its friend', function () {
  this.timeout(120_000)
  let dir: string
  const d = new Map<Name, RunningDaemon>()
  const stopped: RunningDaemon[] = []
  let blocker: Server | undefined
  let src: string
  const home = (n: Name): string => join(dir, n)
  const api = async (n: Name): Promise<ApiClient> => (await ApiClient.forHome(home(n))) ?? assert.fail(`no daemon runs for ${n}`)
  const peersOf = async (n: Name): Promise<PeerRow[]> => await (await api(n)).call<PeerRow[]>('/peers/list', {}, { signal: AbortSignal.timeout(10_000) })
  const statusOf = async (n: Name): Promise<Status> => await (await api(n)).call<Status>('/status', {}, { signal: AbortSignal.timeout(10_000) })
  const id = (n: Name): string => d.get(n)!.peerId
  const stop = async (n: Name): Promise<void> => {
    const daemon = d.get(n)!
    stopped.push(daemon)
    assert.equal(await daemon.stop(), 0, `${n} stops cleanly`)
  }
  const pair = async (inviter: Name, acceptor: Name): Promise<void> => {
    const inv = await hf(home(inviter), ['peers', 'invite', '--quota', '200MiB', '--name', acceptor])
    expectCode(inv, 0, `${inviter} invites ${acceptor}`)
    expectCode(await hf(home(acceptor), ['peers', 'accept', inv.stdout.trim(), '--quota', '200MiB', '--name', inviter]), 0, `${acceptor} accepts ${inviter}'s invite`)
  }

  before(async function () {
    dir = await makeTempDir('routing')
    await Promise.all(NAMES.map(async n => {
      const args = ['init', '--home', home(n), '--name', n, '--site', n === 'owner' ? 'home' : `site-${n}`]
      if (n === 'owner') args.push('--data-shards', '3', '--parity-shards', '2')
      expectCode(await hf(home(n), args), 0, `init ${n}`)
    }))
    // mDNS off everywhere: nothing but known addresses, the DHT and the relay can bring peers together.
    // The owner's own retries are a minute apart: within this test, what brings a lost host back is the
    // operation that needs it, not a retry that happened to come at the right time.
    // (the relayed host's node.json names the relay's peer id: written once the relay runs)
    const nodeJson: Partial<Record<Name, object>> = {
      owner: { mdns: false, listen: [], reconnect: { minMs: 60_000, maxMs: 120_000 } },
      h1: { mdns: false },
      h2: { mdns: false },
      h3: { mdns: false },
      relay: { mdns: false, relay: { server: true } }
    }
    for (const [n, json] of Object.entries(nodeJson)) await writeFile(join(home(n as Name), 'node.json'), JSON.stringify(json))
    // the owner packs on one worker thread: the 12 MiB file then makes one pack of 4 MiB shards
    const started = await Promise.all(NAMES.filter(n => n !== 'relayed').map(async n =>
      [n, n === 'owner' ? await startDaemon(home(n), { HOLDFAST_WORKERS: '1' }, { listen: [] }) : await startDaemon(home(n))] as const))
    for (const [n, daemon] of started) d.set(n, daemon)
    await writeFile(join(home('relayed'), 'node.json'), JSON.stringify({ mdns: false, listen: [], relay: { reserve: [id('relay')] } }))
    d.set('relayed', await startDaemon(home('relayed'), {}, { listen: [] }))

    src = join(dir, 'src')
    await mkdir(join(src, 'docs'), { recursive: true })
    await writeRandom(join(src, 'big.bin'), 12 * 1024 * 1024)
    for (let i = 0; i < 10; i++) await writeFile(join(src, 'docs', `note${i}.txt`), `note ${i}\n`.repeat(100 + i))
  })

  afterEach(function () {
    // what the daemons said (HOLDFAST_DEBUG=1 makes them say more), to tell why a step failed
    if (this.currentTest?.state !== 'failed') return
    for (const [n, daemon] of d) process.stderr.write(`--- daemon ${n}:\n${daemon.output().slice(-4000)}\n`)
  })

  after(async function () {
    await Promise.all([...d.values(), ...stopped].map(async daemon => await daemon.stop()))
    if (blocker != null) await new Promise<void>(resolve => blocker!.close(() => resolve()))
    await removeDir(dir)
  })

  it('pairs through the CLI; the relayed host holds a reservation and the owner reaches it only through the relay', async function () {
    assert.deepEqual((await statusOf('owner')).addresses, [], 'the owner listens nowhere')
    assert.deepEqual((await statusOf('relayed')).addresses, [], 'the relayed host has no address before its reservation')
    await pair('relay', 'relayed')
    const circuit = `/p2p/${id('relay')}/p2p-circuit`
    const reserved = await waitFor('the relayed host to hold a reservation on the relay', 30_000, async () => {
      const s = await statusOf('relayed')
      return s.relays[0]?.reserved === true && s.addresses.length > 0 ? s : undefined
    })
    assert.equal(reserved.relays[0].relay, id('relay'))
    assert.ok(reserved.addresses.every(a => a.includes(circuit)), `only relayed addresses: ${reserved.addresses.join(' ')}`)
    const viaCli = parseJson<Array<PeerRow & { relayReservation?: { reserved: boolean } }>>(await hf(home('relayed'), ['peers', 'list', '--json']), 'peers list')
    assert.equal(viaCli.find(p => p.peerId === id('relay'))?.relayReservation?.reserved, true, '`peers list` shows the reservation')

    await pair('h1', 'h2')
    for (const h of HOSTS) await pair(h, 'owner')
    const rows = await waitFor('the owner to see its five hosts online', 30_000, async () => {
      const list = await peersOf('owner')
      return list.length === 5 && list.every(p => p.online) ? list : undefined
    })
    const relayed = rows.find(p => p.peerId === id('relayed'))!
    assert.ok(relayed.connections.length > 0 && relayed.connections.every(c => c.includes(`${circuit}/p2p/${id('relayed')}`)),
      `the owner is connected to the relayed host through the relay only: ${relayed.connections.join(' ')}`)
    assert.ok(relayed.addresses.every(a => a.includes(circuit)), `the owner knows only relayed addresses of it: ${relayed.addresses.join(' ')}`)
  })

  it('backs up: every host, the relayed one included, holds one shard of every pack, some of several MiB', async function () {
    const r = await hf(home('owner'), ['backup', '--json', src])
    expectCode(r, 0, 'backup')
    const counts = new Map<Name, number[]>()
    for (const h of HOSTS) counts.set(h, await hostedShards(home(h), id('owner')))
    const relayedShards = counts.get('relayed')!
    assert.ok(relayedShards.length > 0, 'the relayed host received shards')
    for (const h of HOSTS) assert.equal(counts.get(h)!.length, relayedShards.length, `${h} holds as many shards as the relayed host`)
    assert.ok(Math.max(...relayedShards) >= 3 * 1024 * 1024, `a shard of several MiB crossed the relay (largest: ${Math.max(...relayedShards)} bytes)`)
    const row = (await peersOf('owner')).find(p => p.peerId === id('relayed'))!
    assert.ok(row.connections.every(c => c.includes('/p2p-circuit')), `still only relayed connections: ${row.connections.join(' ')}`)
  })

  it('restores byte-identical with h1 and h3 stopped: the relayed host serves its shards through the relay', async function () {
    await stop('h1')
    await stop('h3')
    const target = join(dir, 'restore-relay')
    expectCode(await hf(home('owner'), ['restore', 'latest', '--target', target]), 0, 'restore')
    assert.deepEqual(await compareTrees(src, join(target, src)), [])
  })

  it('finds h1 again through the DHT or locate after it restarts on a new port; a restore that needs it succeeds', async function () {
    const h1Id = id('h1')
    const known = (await peersOf('owner')).find(p => p.peerId === h1Id)!
    assert.equal(known.online, false)
    const oldPorts = new Set(known.addresses.map(portOf))
    assert.equal(oldPorts.size, 1, `the owner knows one (old) port of h1: ${known.addresses.join(' ')}`)
    const oldPort = [...oldPorts][0]
    // the old port now belongs to something that drops every connection
    blocker = createServer(socket => socket.destroy())
    await new Promise<void>((resolve, reject) => { blocker!.once('error', reject); blocker!.listen(oldPort, '127.0.0.1', () => resolve()) })

    d.set('h1', await startDaemon(home('h1')))
    const newPort = portOf(d.get('h1')!.addresses[0])
    assert.notEqual(newPort, oldPort)
    // h1 cannot reach the owner (it listens nowhere) but reconnects to its friend h2, which learns the new address
    await waitFor('h2 to see h1 again', 30_000, async () => {
      const row = (await peersOf('h2')).find(p => p.peerId === h1Id)
      return row?.online === true && row.addresses.some(a => portOf(a) === newPort) ? row : undefined
    })
    // with h3 and the relayed host stopped, the restore needs h1, h2 and the relay
    await stop('relayed')
    assert.equal((await peersOf('owner')).find(p => p.peerId === h1Id)?.online, false, 'the owner has not found h1 by itself')
    const target = join(dir, 'restore-dht')
    expectCode(await hf(home('owner'), ['restore', 'latest', '--target', target]), 0, 'restore')
    assert.deepEqual(await compareTrees(src, join(target, src)), [])

    const row = await waitFor('the owner to record h1\'s new address', 15_000, async () => {
      const r = (await peersOf('owner')).find(p => p.peerId === h1Id)
      return r != null && r.addresses.length > 0 && r.addresses.every(a => portOf(a) === newPort) ? r : undefined
    })
    assert.equal(row.online, true)
    assert.notEqual(row.onlineVia, 'inbound', 'the owner dialled h1 (h1 cannot dial the owner)')
    const cli = parseJson<PeerRow[]>(await hf(home('owner'), ['peers', 'list', '--json']), 'peers list').find(p => p.peerId === h1Id)!
    assert.equal(cli.online, true)
    assert.ok(cli.connections.some(c => portOf(c) === newPort), `connected at the new port: ${cli.connections.join(' ')}`)
    assert.ok(!cli.addresses.some(a => portOf(a) === oldPort), 'the old address is forgotten')
  })
})
