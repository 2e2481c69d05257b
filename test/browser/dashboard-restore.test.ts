/**
 * The Restore page in a real browser (Debian's chromium, headless) against real daemons (an owner at 2+1
 * and three hosts on 127.0.0.1): the page asks for the passphrase the daemon lacks, browses the snapshot
 * from the keyboard, downloads a file whose bytes are the original's, restores a folder to another place
 * with its progress shown, and the Sessions page lists that restore. HOLDFAST_SCREENSHOTS=DIR saves
 * screenshots there.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startDaemon, type RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, fileHashes, hf, makeTempDir, PASSPHRASE, pairWithHosts, removeDir, writeRandom } from '../integration/helpers.js'

/** The system's Chromium (as dashboard.test.ts finds it; importing that file would run its suite too). */
function chromiumPath (): string {
  const found = [process.env.HOLDFAST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => p != null && p !== '' && existsSync(p))
  if (found == null) throw new Error('no Chromium found: install Debian\'s chromium package (apt-get install chromium), or set HOLDFAST_CHROMIUM')
  return found
}

describe('Restore page in a browser (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let src: string
  let owner: RunningDaemon
  const hosts: RunningDaemon[] = []
  let base: string
  let browser: Browser
  let page: Page
  let letter: Buffer
  const shots = process.env.HOLDFAST_SCREENSHOTS

  before(async function () {
    dir = await makeTempDir('dashboard-restore')
    src = join(dir, 'documents')
    await mkdir(join(src, 'letters'), { recursive: true })
    await writeRandom(join(src, 'report.pdf'), 200_000)
    letter = await writeRandom(join(src, 'letters', 'to ann é.txt'), 90_000)
    await writeRandom(join(src, 'letters', 'to bob.txt'), 40_000)
    const names = ['laptop', 'ann', 'bob', 'cabin']
    await Promise.all(names.map(async (name, i) => {
      const home = join(dir, name)
      expectCode(await hf(home, ['init', '--home', home, '--name', name, ...(i === 0 ? ['--data-shards', '2', '--parity-shards', '1', '--pack-size', '128KiB'] : [])]), 0, `init ${name}`)
      await writeFile(join(home, 'node.json'), JSON.stringify({
        listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' },
        ...(i === 0 ? { maintenance: { enabled: false }, backup: { sets: [{ name: 'documents', paths: [src] }] } } : {})
      }))
    }))
    // no passphrase for the daemon: the page asks for it
    owner = await startDaemon(join(dir, 'laptop'))
    hosts.push(...await Promise.all(names.slice(1).map(async n => await startDaemon(join(dir, n)))))
    await pairWithHosts(owner, hosts, i => names[i + 1])
    base = (JSON.parse(await readFile(join(owner.home, 'daemon.json'), 'utf8')) as { gui: string }).gui
    expectCode(await hf(owner.home, ['backup', '--set', 'documents']), 0, 'backup')
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
    page = await browser.newPage({ acceptDownloads: true })
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

  it('asks for the passphrase, then browses the snapshot from the keyboard and downloads a file', async function () {
    await page.goto(`${base}/#/restore`)
    await page.getByLabel('Passphrase').fill(PASSPHRASE)
    await page.getByRole('button', { name: 'Unlock' }).click()
    const tree = page.getByTestId('snapshot-tree')
    await tree.waitFor()
    // it opens at the folder the snapshot backed up
    assert.match(await tree.innerText(), /letters[^]*report\.pdf/)
    await shot('restore')
    // a folder opens from the keyboard; the breadcrumbs say where we are
    await page.getByRole('button', { name: 'letters (folder)' }).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'letters' }).waitFor()
    assert.equal(await page.locator('.crumbs [aria-current="location"]').innerText(), 'letters')
    await page.getByRole('link', { name: 'to ann é.txt' }).waitFor()
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'to ann é.txt' }).click()])
    assert.equal(download.suggestedFilename(), 'to ann é.txt')
    const saved = join(dir, 'downloaded.txt')
    await download.saveAs(saved)
    assert.ok((await readFile(saved)).equals(letter), 'the downloaded bytes are the original\'s')
    // a file's versions
    await page.getByRole('button', { name: 'Versions of to ann é.txt' }).click()
    await page.getByTestId('versions').getByText('oldest kept').waitFor()
  })

  it('restores a folder to another place with its progress, and the Sessions page lists the restore', async function () {
    const target = join(dir, 'restored')
    await page.getByRole('navigation', { name: 'Folder path' }).getByRole('button', { name: 'documents', exact: true }).click()
    await page.getByRole('button', { name: 'Restore letters' }).click()
    const form = page.getByTestId('restore-form')
    await form.getByLabel('Another folder').check()
    await form.getByLabel('Folder', { exact: true }).fill(target)
    await form.getByRole('button', { name: 'Start restore' }).click()
    await form.getByText(/Restored 2 files/).waitFor({ timeout: 60_000 })
    await shot('restore-done')
    assert.deepEqual(await fileHashes(join(target, src, 'letters')), await fileHashes(join(src, 'letters')))
    await page.getByRole('link', { name: 'Sessions' }).click()
    const sessions = page.getByTestId('sessions')
    await sessions.waitFor()
    assert.match(await sessions.innerText(), /restore\s+ok[^]*2 restored to/)
  })

  it('searches names across snapshots; on a phone\'s screen nothing overflows sideways', async function () {
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${base}/#/restore`)
    await page.getByTestId('snapshot-tree').waitFor()
    await page.getByLabel('Name or pattern').fill('*.pdf')
    await page.getByRole('button', { name: 'Search' }).click()
    const results = page.getByTestId('search-results')
    await results.waitFor()
    assert.match(await results.innerText(), /report\.pdf/)
    // the repository's statistics (one snapshot: no snapshot before it to compare with)
    const insights = page.getByTestId('insights')
    assert.equal(await insights.getByRole('button', { name: 'What changed since the snapshot before' }).isDisabled(), true)
    await insights.getByRole('button', { name: 'Repository statistics' }).click()
    await insights.getByTestId('stats').waitFor()
    assert.match(await insights.getByTestId('stats').innerText(), /1 snapshot\(s\):/)
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`)
    await shot('restore-phone')
  })
})
