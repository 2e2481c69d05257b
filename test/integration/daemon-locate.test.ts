import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:net'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ApiClient } from '../../src/api/index.js'
import { startDaemon, type RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, makeTempDir, parseJson, removeDir, waitFor } from './helpers.js'

/**
 * Real daemons on 127.0.0.1 with no DHT and no mDNS: the owner (listening nowhere, like a laptop behind a
 * NAT) finds a host that moved by asking the host's friend, to which the host reconnected
 * (/holdfast/locate/1.0.0). Nothing else can bring them together: the host cannot dial the owner, the
 * owner's known address for it is dead.
 */
const NAMES = ['owner', 'h1', 'h2'] as const
type Name = typeof NAMES[number]
interface PeerRow { peerId: string, online: boolean, onlineVia?: string, addresses: string[], connections: string[] }
const portOf = (addr: string): number => Number(/\/tcp\/(\d+)/.exec(addr)?.[1])

describe('daemons on 127.0.0.1 without a DHT: a host that moved is found through its friend (locate)', function () {
  this.timeout(120_000)
  let dir: string
  const d = new Map<Name, RunningDaemon>()
  const stopped: RunningDaemon[] = []
  let blocker: Server | undefined
  const home = (n: Name): string => join(dir, n)
  const peersOf = async (n: Name): Promise<PeerRow[]> => await ((await ApiClient.forHome(home(n))) ?? assert.fail(`no daemon for ${n}`)).call<PeerRow[]>('/peers/list', {}, { signal: AbortSignal.timeout(10_000) })
  const pair = async (inviter: Name, acceptor: Name): Promise<void> => {
    const inv = await hf(home(inviter), ['peers', 'invite', '--quota', '10MiB', '--name', acceptor])
    expectCode(inv, 0, `${inviter} invites ${acceptor}`)
    expectCode(await hf(home(acceptor), ['peers', 'accept', inv.stdout.trim(), '--quota', '10MiB', '--name', inviter]), 0, `${acceptor} accepts`)
  }

  before(async function () {
    dir = await makeTempDir('locate')
    await Promise.all(NAMES.map(async n => { expectCode(await hf(home(n), ['init', '--home', home(n), '--name', n, '--site', `site-${n}`]), 0, `init ${n}`) }))
    // the owner retries lost peers every 1 to 3 s: its own retries must find h1, with no DHT to ask
    await writeFile(join(home('owner'), 'node.json'), JSON.stringify({ mdns: false, dht: false, listen: [], reconnect: { minMs: 1000, maxMs: 3000 } }))
    for (const n of ['h1', 'h2'] as const) await writeFile(join(home(n), 'node.json'), JSON.stringify({ mdns: false, dht: false }))
    d.set('h1', await startDaemon(home('h1')))
    d.set('h2', await startDaemon(home('h2')))
    d.set('owner', await startDaemon(home('owner'), {}, { listen: [] }))
    await pair('h1', 'owner')
    await pair('h2', 'owner')
    await pair('h1', 'h2')
  })

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return
    for (const [n, daemon] of d) process.stderr.write(`--- daemon ${n}:\n${daemon.output().slice(-4000)}\n`)
  })

  after(async function () {
    await Promise.all([...d.values(), ...stopped].map(async daemon => await daemon.stop()))
    if (blocker != null) await new Promise<void>(resolve => blocker!.close(() => resolve()))
    await removeDir(dir)
  })

  it('the owner reconnects to h1 at its new port, told by h2', async function () {
    const h1Id = d.get('h1')!.peerId
    await waitFor('the owner connected to h1 and h2', 30_000, async () => (await peersOf('owner')).filter(p => p.online).length === 2 ? true : undefined)
    const oldPort = portOf(d.get('h1')!.addresses[0])
    stopped.push(d.get('h1')!)
    assert.equal(await d.get('h1')!.stop(), 0)
    await waitFor('the owner to see h1 offline', 30_000, async () => (await peersOf('owner')).find(p => p.peerId === h1Id)?.online === false ? true : undefined)
    // the old port now belongs to something that drops every connection
    blocker = createServer(socket => socket.destroy())
    await new Promise<void>((resolve, reject) => { blocker!.once('error', reject); blocker!.listen(oldPort, '127.0.0.1', () => resolve()) })

    d.set('h1', await startDaemon(home('h1')))
    const newPort = portOf(d.get('h1')!.addresses[0])
    assert.notEqual(newPort, oldPort)
    const row = await waitFor('the owner to reach h1 again', 60_000, async () => {
      const r = (await peersOf('owner')).find(p => p.peerId === h1Id)
      return r?.online === true ? r : undefined
    })
    assert.equal(row.onlineVia, 'locate', 'found through h2 (no DHT, no mDNS; h1 cannot dial the owner)')
    const cli = parseJson<PeerRow[]>(await hf(home('owner'), ['peers', 'list', '--json']), 'peers list').find(p => p.peerId === h1Id)!
    assert.ok(cli.connections.some(c => portOf(c) === newPort), `connected at the new port: ${cli.connections.join(' ')}`)
    // no daemon logged an error for any of it
    for (const [n, daemon] of d) assert.doesNotMatch(daemon.output(), /locate request from/, `${n} logged a locate failure`)
  })
})
