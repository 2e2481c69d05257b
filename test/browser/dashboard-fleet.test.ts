/**
 * The Fleet page in a real browser (Debian's chromium, headless) against real daemons on 127.0.0.1: three
 * nodes in two sites grant one node the admin role; its Fleet page shows all three with their status; a
 * backup started there on one node is seen to end ok; a node that withdraws the role is gone from the page.
 * HOLDFAST_SCREENSHOTS=DIR saves a screenshot there.
 */
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, makeTempDir, PASSPHRASE, removeDir, writeRandom } from '../integration/helpers.js'
import { chromiumPath } from './chromium-path.js'

describe('dashboard: the Fleet page of an office\'s admin (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let admin: RunningDaemon
  const nodes: RunningDaemon[] = []
  let base: string
  let browser: Browser
  let page: Page
  const shots = process.env.HOLDFAST_SCREENSHOTS

  before(async function () {
    dir = await makeTempDir('dashboard-fleet')
    const adminHome = join(dir, 'admin')
    expectCode(await hf(adminHome, ['init', '--home', adminHome, '--name', 'admin', '--site', 'north']), 0, 'init admin')
    await writeFile(join(adminHome, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' }, maintenance: { enabled: false } }))
    admin = await startDaemon(adminHome)
    for (const [i, site] of ['north', 'north', 'south'].entries()) {
      const home = join(dir, `node${i + 1}`)
      const stores = [1, 2, 3].flatMap(s => ['--store', `dir:${join(dir, `node${i + 1}-store${s}`)}`])
      expectCode(await hf(home, ['init', '--home', home, '--name', `node${i + 1}`, '--site', site, '--data-shards', '2', '--parity-shards', '1', ...stores]), 0, `init node${i + 1}`)
      const src = join(dir, `src${i + 1}`)
      await mkdir(src)
      await writeRandom(join(src, 'a.bin'), 100_000)
      await writeFile(join(home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, maintenance: { enabled: false }, gui: { enabled: false }, backup: { sets: [{ name: 'work', paths: [src] }] } }))
      const node = await startDaemon(home, { HOLDFAST_PASSPHRASE: PASSPHRASE })
      nodes.push(node)
      const code = await hf(home, ['peers', 'invite', '--quota', '0', '--name', 'admin'])
      expectCode(code, 0, 'invite')
      expectCode(await hf(adminHome, ['peers', 'accept', code.stdout.trim(), '--quota', '0', '--name', `node${i + 1}`]), 0, 'accept')
      expectCode(await hf(home, ['peers', 'grant', 'admin', 'admin']), 0, 'grant')
    }
    base = (JSON.parse(await readFile(join(adminHome, 'daemon.json'), 'utf8')) as { gui: string }).gui
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
    page = await (await browser.newContext()).newPage()
  })

  after(async function () {
    await browser?.close()
    await Promise.all([admin, ...nodes].filter(d => d != null).map(async d => await d.stop()))
    await removeDir(dir)
  })

  const names = async (): Promise<string[]> => await page.getByTestId('fleet-node').evaluateAll(els => els.map(e => e.getAttribute('data-name') ?? ''))

  it('lists the three nodes with their status; a backup started on one ends ok; a node that withdraws the role disappears', async function () {
    await page.goto(`${base}/#/fleet`)
    await page.getByRole('heading', { name: 'Fleet' }).waitFor()
    await page.getByTestId('fleet-node').nth(2).waitFor()
    assert.deepEqual(await names(), ['node1', 'node2', 'node3'])
    const node2 = page.locator('[data-testid="fleet-node"][data-name="node2"]')
    assert.match(await node2.getByTestId('node-status').innerText(), /never been backed up|0 of 1 sets/)
    assert.match(await node2.innerText(), /site north/)
    assert.match(await page.locator('[data-testid="fleet-node"][data-name="node3"]').innerText(), /site south/)

    await node2.getByRole('button', { name: 'Back up "work"' }).click()
    await node2.getByTestId('fleet-message').filter({ hasText: 'backup started' }).waitFor()
    // the page refreshes every 5 s: the job ends ok and the node's status turns to protected
    await node2.locator('[data-testid="fleet-jobs"] tr[data-status="ok"]').waitFor({ timeout: 60_000 })
    await node2.getByTestId('node-status').filter({ hasText: 'All 1 set' }).waitFor({ timeout: 30_000 })
    await node2.getByRole('button', { name: 'Session reports' }).click()
    await node2.getByTestId('fleet-sessions').getByText('ok').first().waitFor()
    if (shots != null) {
      await mkdir(shots, { recursive: true })
      await page.screenshot({ path: join(shots, 'fleet.png'), fullPage: true })
    }

    expectCode(await hf(nodes[0].home, ['peers', 'ungrant', 'admin', 'admin']), 0, 'ungrant on node1')
    await page.reload()
    await page.getByTestId('fleet-node').nth(1).waitFor()
    for (let i = 0; await page.locator('[data-testid="fleet-node"]').count() !== 2; i++) {
      if (i > 100) assert.fail('the list did not change')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    assert.deepEqual(await names(), ['node2', 'node3'])
  })
})
