/**
 * The dashboard's Backup page in a real browser (Debian's chromium, headless) against real daemons on
 * 127.0.0.1 (an owner and 3 hosts): "Back up now" shows live progress up to 100% and the session ok; a
 * set's schedule is edited in the form (a bad cron refused with the config's text, node.json untouched;
 * a good one written); a set is added with the file-tree picker and removed after a confirmation; the
 * page fits a phone's screen. HOLDFAST_SCREENSHOTS=DIR saves screenshots there.
 */
import assert from 'node:assert/strict'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, makeTempDir, PASSPHRASE, pairWithHosts, removeDir, writeRandom } from '../integration/helpers.js'
import { existsSync } from 'node:fs'

/** The system's Chromium, as dashboard.test.ts finds it (not imported from there: mocha would run its tests too). */
function chromiumPath (): string {
  const found = [process.env.HOLDFAST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => p != null && p !== '' && existsSync(p))
  if (found == null) throw new Error('no Chromium found: install Debian\'s chromium package (apt-get install chromium), or set HOLDFAST_CHROMIUM')
  return found
}

describe('dashboard Backup page in a browser (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let src: string
  let owner: RunningDaemon
  const hosts: RunningDaemon[] = []
  let base: string
  let browser: Browser
  let page: Page
  const shots = process.env.HOLDFAST_SCREENSHOTS
  const nodeJson = (): string => join(owner.home, 'node.json')

  before(async function () {
    dir = await makeTempDir('dashboard-backup')
    src = join(dir, 'documents')
    await mkdir(join(src, 'letters'), { recursive: true })
    for (let i = 0; i < 8; i++) await writeRandom(join(src, `file${i}.bin`), 200_000)
    await writeRandom(join(src, 'letters', 'a.txt'), 1000)
    const names = ['laptop', 'ann', 'bob', 'cabin']
    await Promise.all(names.map(async (name, i) => {
      const home = join(dir, name)
      expectCode(await hf(home, ['init', '--home', home, '--name', name, ...(i === 0 ? ['--data-shards', '2', '--parity-shards', '1', '--pack-size', '256KiB'] : [])]), 0, `init ${name}`)
      await writeFile(join(home, 'node.json'), JSON.stringify({
        listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' },
        ...(i === 0 ? { maintenance: { enabled: false }, backup: { sets: [{ name: 'documents', paths: [src], schedule: '0 3 * * *' }] } } : {})
      }, null, 2))
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

  it('"Back up now": the progress bar reaches 100% and the session shows ok', async function () {
    await page.goto(`${base}/#/backup`)
    const card = page.getByTestId('set-documents')
    await card.waitFor()
    assert.equal(await card.getByTestId('schedule').innerText(), 'every day at 03:00 (0 3 * * *)')
    assert.equal(await card.getByTestId('last-session').innerText(), 'never')
    await card.getByRole('button', { name: 'Back up now' }).click()
    const bar = card.getByRole('progressbar', { name: 'Backup of documents' })
    await bar.waitFor()
    await card.getByTestId('run-status').waitFor({ timeout: 120_000 })
    assert.equal(await card.getByTestId('run-status').innerText(), 'ok')
    assert.equal(await bar.getAttribute('aria-valuenow'), '100')
    assert.match(await card.getByTestId('run-files').innerText(), /^9 of 9$/)
    assert.match(await card.getByTestId('run-bytes').innerText(), /^1\.5 MiB of 1\.5 MiB$/)
    await card.getByTestId('last-session').getByText('ok').waitFor()
    await shot('backup')
  })

  it('edit a set\'s schedule: a bad cron is refused with the config\'s text and node.json is untouched; a good one is written', async function () {
    await page.goto(`${base}/#/backup`)
    const card = page.getByTestId('set-documents')
    await card.getByRole('button', { name: 'Edit' }).click()
    const form = card.getByTestId('set-form')
    const before = await readFile(nodeJson(), 'utf8')
    await form.getByLabel(/^Schedule/).fill('61 * * * *')
    await form.getByRole('button', { name: 'Save' }).click()
    const error = form.getByTestId('set-form-error')
    await error.waitFor()
    assert.match(await error.innerText(), /node\.json: backup\.sets\[0\]\.schedule: /)
    assert.equal(await form.getByLabel(/^Schedule/).getAttribute('aria-invalid'), 'true')
    assert.equal(await readFile(nodeJson(), 'utf8'), before)
    await form.getByLabel(/^Schedule/).fill('30 2 * * 1-5')
    assert.equal(await form.getByText('weekdays at 02:30').count(), 1, 'the schedule read back in words')
    await form.getByRole('button', { name: 'Save' }).click()
    await card.getByTestId('schedule').getByText('weekdays at 02:30').waitFor()
    const written = JSON.parse(await readFile(nodeJson(), 'utf8'))
    assert.equal(written.backup.sets[0].schedule, '30 2 * * 1-5')
    assert.deepEqual(written.backup.sets[0].paths, [src])
  })

  it('the standby switch: a folder inside the set is refused with the config\'s text; another is written to node.json and shown; switched off, it is gone', async function () {
    await page.goto(`${base}/#/backup`)
    const card = page.getByTestId('set-documents')
    await card.getByRole('button', { name: 'Edit' }).click()
    let form = card.getByTestId('set-form')
    await form.getByLabel(/^Standby copy/).check()
    await form.getByLabel(/^Standby folder/).fill(join(src, 'mirror'))
    await form.getByRole('button', { name: 'Save' }).click()
    await form.getByTestId('set-form-error').getByText(/standby folder cannot be inside what the set backs up/).waitFor()
    assert.equal(await form.getByLabel(/^Standby folder/).getAttribute('aria-invalid'), 'true')
    const folder = `${src}-standby`
    await form.getByLabel(/^Standby folder/).fill(folder)
    await form.getByRole('button', { name: 'Save' }).click()
    await card.getByTestId('standby').getByText(folder).waitFor()
    assert.equal(JSON.parse(await readFile(nodeJson(), 'utf8')).backup.sets[0].standby, folder)
    await card.getByRole('button', { name: 'Edit' }).click()
    form = card.getByTestId('set-form')
    await form.getByLabel(/^Standby copy/).uncheck()
    await form.getByRole('button', { name: 'Save' }).click()
    await card.getByTestId('standby').waitFor({ state: 'detached' })
    assert.equal(JSON.parse(await readFile(nodeJson(), 'utf8')).backup.sets[0].standby, undefined)
  })

  it('add a set with the file-tree picker, then remove it after a confirmation, from the keyboard where it counts', async function () {
    await page.goto(`${base}/#/backup`)
    await page.getByRole('button', { name: 'Add a set' }).click()
    const form = page.getByRole('form', { name: 'New backup set' })
    await form.getByLabel('Name').fill('letters')
    await form.getByRole('button', { name: 'Browse...' }).click()
    const picker = form.getByTestId('picker')
    // walk down from / to the documents folder, then into letters
    const parts = src.split('/').filter(Boolean)
    for (const part of parts) await picker.getByRole('button', { name: `Open folder ${part}`, exact: true }).click()
    await picker.getByRole('button', { name: 'Open folder letters', exact: true }).click()
    await picker.getByText('a.txt').waitFor()
    await picker.getByRole('button', { name: 'Add this folder' }).click()
    await picker.getByRole('button', { name: 'Done' }).click()
    await form.getByText(join(src, 'letters'), { exact: true }).waitFor()
    await form.getByLabel(/^Excludes/).fill('*.tmp')
    await form.getByLabel('Watch mode').check()
    await shot('backup-new-set')
    await form.getByRole('button', { name: 'Add set' }).click()
    const card = page.getByTestId('set-letters')
    await card.waitFor()
    let written = JSON.parse(await readFile(nodeJson(), 'utf8'))
    assert.deepEqual(written.backup.sets[1], { name: 'letters', paths: [join(src, 'letters')], exclude: ['*.tmp'], watch: true })
    await card.getByRole('button', { name: 'Remove' }).click()
    // the confirmation takes the focus: Enter removes
    await card.getByRole('alertdialog').waitFor()
    await page.keyboard.press('Enter')
    await card.waitFor({ state: 'detached' })
    written = JSON.parse(await readFile(nodeJson(), 'utf8'))
    assert.deepEqual(written.backup.sets.map((s: { name: string }) => s.name), ['documents'])
  })

  it('a daemon without a passphrase asks for it in the card, then backs up (from the keyboard)', async function () {
    await owner.stop()
    owner = await startDaemon(join(dir, 'laptop'), { HOLDFAST_PASSPHRASE: '' })
    base = (JSON.parse(await readFile(join(owner.home, 'daemon.json'), 'utf8')) as { gui: string }).gui
    await page.goto(`${base}/#/backup`)
    const card = page.getByTestId('set-documents')
    await card.getByRole('button', { name: 'Back up now' }).focus()
    await page.keyboard.press('Enter')
    const passphrase = card.getByLabel('Passphrase')
    await passphrase.waitFor()
    await passphrase.fill(PASSPHRASE)
    await page.keyboard.press('Enter')
    await card.getByTestId('run-status').waitFor({ timeout: 120_000 })
    assert.equal(await card.getByTestId('run-status').innerText(), 'ok')
    assert.equal(await card.getByRole('progressbar').getAttribute('aria-valuenow'), '100')
  })

  it('on a phone\'s screen nothing overflows sideways, the edit form open', async function () {
    await page.setViewportSize({ width: 360, height: 780 })
    await page.goto(`${base}/#/backup`)
    const card = page.getByTestId('set-documents')
    await card.getByRole('button', { name: 'Edit' }).click()
    await card.getByRole('button', { name: 'Browse...' }).click()
    await card.getByTestId('picker').getByRole('button', { name: 'Add this folder' }).waitFor()
    const overflow = await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`)
    await shot('backup-phone')
  })
})
