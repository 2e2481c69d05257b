import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, makeTempDir, parseJson, PASSPHRASE, removeDir, writeRandom } from './helpers.js'
import type { FleetMember, FleetSession } from '../../src/fleet/index.js'

/**
 * The fleet of an office (real daemons on 127.0.0.1): three nodes in two sites grant one node the admin
 * role; its `holdfast fleet` lists all three with their status, starts a backup and an audit on one and
 * sees them end; a node that withdraws the role is gone from the fleet at once; a node that is no admin is
 * refused.
 */
describe('daemons on 127.0.0.1: a fleet view for an office', function () {
  this.timeout(180_000)
  let dir: string
  let admin: RunningDaemon
  const nodes: RunningDaemon[] = []
  const sites = ['north', 'north', 'south']

  before(async () => {
    dir = await makeTempDir('fleet')
    expectCode(await hf(join(dir, 'admin'), ['init', '--home', join(dir, 'admin'), '--name', 'admin', '--site', 'north']), 0, 'init admin')
    admin = await startDaemon(join(dir, 'admin'))
    for (const [i, site] of sites.entries()) {
      const home = join(dir, `node${i + 1}`)
      const stores = [1, 2, 3].flatMap(s => ['--store', `dir:${join(dir, `node${i + 1}-store${s}`)}`])
      expectCode(await hf(home, ['init', '--home', home, '--name', `node${i + 1}`, '--site', site, '--data-shards', '2', '--parity-shards', '1', ...stores]), 0, `init node${i + 1}`)
      const src = join(dir, `src${i + 1}`)
      await mkdir(src)
      await writeRandom(join(src, 'a.bin'), 200_000)
      await writeFile(join(home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, maintenance: { enabled: false }, gui: { enabled: false }, backup: { sets: [{ name: 'work', paths: [src] }] } }))
      const node = await startDaemon(home, { HOLDFAST_PASSPHRASE: PASSPHRASE })
      nodes.push(node)
      // the node and the admin pair (no room granted either way: office nodes, not hosts), then the node grants the role
      const code = await hf(home, ['peers', 'invite', '--quota', '0', '--name', 'admin'])
      expectCode(code, 0, 'invite')
      expectCode(await hf(admin.home, ['peers', 'accept', code.stdout.trim(), '--quota', '0', '--name', `node${i + 1}`]), 0, 'accept')
    }
  })

  after(async () => {
    await Promise.all([admin, ...nodes].filter(d => d != null).map(async d => await d.stop()))
    await removeDir(dir)
  })

  const fleet = async (): Promise<FleetMember[]> => parseJson<FleetMember[]>(await hf(admin.home, ['fleet', '--json']), 'fleet')

  it('before any grant the fleet is empty and a call is refused; after three grants it lists the three nodes in two sites', async () => {
    assert.deepEqual(await fleet(), [])
    const refused = await hf(admin.home, ['fleet', 'run', 'node1', 'backup'])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /admin role/)
    for (const [i, n] of nodes.entries()) {
      const g = await hf(n.home, ['peers', 'grant', 'admin', 'admin'])
      expectCode(g, 0, `grant on node${i + 1}`)
    }
    const members = await fleet()
    assert.deepEqual(members.map(m => [m.name, m.site, m.online]), [['node1', 'north', true], ['node2', 'north', true], ['node3', 'south', true]])
    for (const m of members) {
      assert.ok(m.status != null)
      assert.equal(m.status.sets[0].name, 'work')
      assert.equal(m.status.sets[0].lastSuccess, null, 'never backed up yet')
      assert.match(m.status.summary, /set/)
    }
  })

  it('starts a backup and an audit on one node and sees both end; its session reports show the backup', async () => {
    const run = await hf(admin.home, ['fleet', 'run', 'node1', 'backup', '--json'])
    expectCode(run, 0, 'fleet run backup')
    const { id } = parseJson<{ id: string }>(run, 'run')
    const audit = parseJson<{ id: string }>(await hf(admin.home, ['fleet', 'run', 'node1', 'audit', '--json']), 'run audit')
    const deadline = Date.now() + 60_000
    for (;;) {
      const node1 = (await fleet()).find(m => m.name === 'node1')!
      const jobs = node1.status!.jobs
      const b = jobs.find(j => j.id === id)
      const a = jobs.find(j => j.id === audit.id)
      if (b?.status !== 'running' && a?.status !== 'running') {
        assert.equal(b?.status, 'ok', JSON.stringify(b))
        assert.ok(a?.status === 'ok', JSON.stringify(a))
        assert.ok(node1.status!.sets[0].lastSuccess != null, 'the set is backed up')
        assert.equal(node1.status!.level, 'ok')
        break
      }
      if (Date.now() > deadline) assert.fail(`the jobs did not end: ${JSON.stringify(jobs)}`)
      await new Promise(resolve => setTimeout(resolve, 300))
    }
    const sessions = parseJson<FleetSession[]>(await hf(admin.home, ['fleet', 'sessions', 'node1', '--json']), 'sessions')
    assert.ok(sessions.some(s => s.id === id && s.kind === 'backup' && s.status === 'ok' && s.set === 'work'))
    // the other nodes were not touched
    assert.ok((await fleet()).filter(m => m.name !== 'node1').every(m => m.status!.sets[0].lastSuccess == null))
  })

  it('a node that withdraws the role is gone at once; a node that is no admin is refused', async () => {
    expectCode(await hf(nodes[2].home, ['peers', 'ungrant', 'admin', 'admin']), 0, 'ungrant on node3')
    assert.deepEqual((await fleet()).map(m => m.name), ['node1', 'node2'])
    const r = await hf(admin.home, ['fleet', 'run', 'node3', 'backup'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /admin role/)
    // node2 is trusted by node1? no: node2 knows only the admin, which granted node2 nothing
    const other = await hf(nodes[1].home, ['fleet', 'run', 'admin', 'backup'])
    assert.notEqual(other.code, 0)
    assert.match(other.stderr, /admin role/)
  })
})
