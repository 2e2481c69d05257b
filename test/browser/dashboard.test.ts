/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core, headless) against real
 * daemons on 127.0.0.1: the Overview says the data is protected after a backup, the Sessions and Peers
 * pages show what the daemon knows, the pages work from the keyboard and on a phone's screen, and a
 * host stopped shows offline and turns the Overview red, saying the packs are down to their last shards. HOLDFAST_SCREENSHOTS=DIR saves a screenshot of each page there.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, makeTempDir, PASSPHRASE, pairWithHosts, removeDir, writeRandom } from '../integration/helpers.js'

/** The system's Chromium (Playwright's own download cannot be reached from here). */
export function chromiumPath (): string {
  const found = [process.env.HOLDFAST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => p != null && p !== '' && existsSync(p))
  if (found == null) throw new Error('no Chromium found: install Debian\'s chromium package (apt-get install chromium), or set HOLDFAST_CHROMIUM')
  return found
}

describe('dashboard in a browser (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let owner: RunningDaemon
  const hosts: RunningDaemon[] = []
  let base: string
  let browser: Browser
  let page: Page
  const shots = process.env.HOLDFAST_SCREENSHOTS

  before(async function () {
    dir = await makeTempDir('dashboard')
    const src = join(dir, 'documents')
    await mkdir(src)
    await writeRandom(join(src, 'report.pdf'), 400_000)
    const names = ['laptop', 'ann', 'bob', 'cabin']
    await Promise.all(names.map(async (name, i) => {
      const home = join(dir, name)
      expectCode(await hf(home, ['init', '--home', home, '--name', name, '--site', i === 3 ? 'cabin' : 'home', ...(i === 0 ? ['--data-shards', '2', '--parity-shards', '1', '--pack-size', '128KiB'] : [])]), 0, `init ${name}`)
      await writeFile(join(home, 'node.json'), JSON.stringify({
        listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' },
        ...(i === 0 ? { maintenance: { enabled: false }, backup: { sets: [{ name: 'documents', paths: [src], schedule: '0 3 * * *' }] } } : {})
      }))
    }))
    owner = await startDaemon(join(dir, 'laptop'), { HOLDFAST_PASSPHRASE: PASSPHRASE })
    hosts.push(...await Promise.all(names.slice(1).map(async n => await startDaemon(join(dir, n)))))
    await pairWithHosts(owner, hosts, i => names[i + 1])
    base = (JSON.parse(await readFile(join(owner.home, 'daemon.json'), 'utf8')) as { gui: string }).gui
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
    page = await browser.newPage()
  })

  after(async function () {
    await browser?.close()
    await Promise.all([owner, ...hosts].filter(d => d != null).map(async d => await d.stop()))
    await removeDir(dir)
  })

  const shot = async (name: string): Promise<void> => {
    if (shots == null) return
    await mkdir(shots, { recursive: true })
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
  }

  it('Overview: at risk before the first backup, protected after it, in words and colour', async function () {
    await page.goto(base)
    const summary = page.getByTestId('protection-summary')
    await summary.waitFor()
    assert.match(await page.getByTestId('protection-status').innerText(), /At risk/)
    assert.match(await page.getByTestId('warnings').innerText(), /Set "documents" has never been backed up/)
    expectCode(await hf(owner.home, ['backup', '--set', 'documents']), 0, 'backup')
    await page.reload()
    await page.getByText('Protected', { exact: true }).waitFor()
    assert.equal(await summary.innerText(), 'All 1 set protected, last backup just now, every pack at 3/3, 3 of 3 peers online')
    assert.equal(await page.getByTestId('protection-status').getAttribute('class'), 'status status-ok')
    assert.match(await page.getByTestId('stored-on-others').innerText(), /KiB of 3\.0 GiB granted/)
    assert.match(await page.getByTestId('sessions').innerText(), /documents\s+manual\s+ok/)
    await shot('overview')
  })

  it('Sessions and Peers from the keyboard: the session report, each peer reached directly with its room', async function () {
    await page.goto(base)
    await page.getByTestId('protection-summary').waitFor()
    // Tab from the top: the skip link, then the pages
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Sessions' }).waitFor()
    assert.equal(new URL(page.url()).hash, '#/sessions')
    assert.match(await page.getByTestId('sessions').innerText(), /documents\s+manual\s+ok/)
    await page.getByLabel('Status').selectOption('failed')
    await page.getByText('No session yet.').waitFor()
    await page.getByLabel('Status').selectOption('')
    // the daemon's own log, under the reports: the command that ran, the start
    assert.match(await page.getByTestId('daemon-log').innerText(), /command backup ended with exit code 0[\s\S]*node \S+ started/)
    await page.getByLabel('Level').selectOption('error')
    await page.getByText('Nothing logged at this level since the daemon started.').waitFor()
    await page.getByLabel('Level').selectOption('')
    await shot('sessions')
    await page.getByRole('link', { name: 'Peers' }).click()
    const peers = page.getByTestId('peers')
    await peers.waitFor()
    const text = await peers.innerText()
    for (const name of ['ann', 'bob', 'cabin']) assert.match(text, new RegExp(`${name}[^]*directly`))
    assert.match(text, /cabin/)
    await shot('peers')
  })

  it('on a phone\'s screen nothing overflows sideways; a stopped host shows offline', async function () {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${base}/#/overview`)
    await page.getByTestId('protection-summary').waitFor()
    const overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") as number
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`)
    await shot('overview-phone')
    await hosts[2].stop()
    await page.goto(`${base}/#/peers`)
    await page.getByText('offline, last seen').waitFor({ timeout: 30_000 })
    // at 2+1 a pack with one shard away is down to its last k: the Overview says so, in red, and what to do
    await page.goto(`${base}/#/overview`)
    await page.getByText('2 of 3 online').waitFor({ timeout: 15_000 })
    await page.getByText('At risk', { exact: true }).waitFor({ timeout: 15_000 })
    assert.equal(await page.getByTestId('protection-status').getAttribute('class'), 'status status-danger')
    assert.match(await page.getByTestId('protection-summary').innerText(), /^All 1 set backed up, last backup (?:\d+ min ago|just now), (\d+) of \1 packs below 3\/3, 2 of 3 peers online$/)
    const warnings = await page.getByTestId('warnings').innerText()
    assert.match(warnings, /(\d+) of \1 packs are down to their last shards: one more loss and they cannot be restored/)
    assert.match(warnings, /run a repair now \(holdfast repair\)/)
    assert.ok(Number(await page.getByTestId('packs-critical').innerText()) >= 2, 'the data and tree packs')
    await shot('overview-degraded')
  })
})
