/**
 * Pairing and settings from the dashboard, in a real browser (Debian's chromium, headless) against two
 * real daemons on 127.0.0.1: an invite made on one node's Peers page (code, Copy button, QR code) is
 * accepted on the other's and both list each other; a revoke asks first (a modal dialog, Escape cancels,
 * focus returns) and then marks the peer revoked; a setting saved on the Settings page lands in node.json,
 * and an invalid one shows the daemon's own error text and changes nothing. Phone-width screens do not
 * scroll sideways. HOLDFAST_SCREENSHOTS=DIR saves screenshots there.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startDaemon, RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { expectCode, hf, makeTempDir, PASSPHRASE, removeDir } from '../integration/helpers.js'

/** The system's Chromium (as dashboard.test.ts finds it; importing that file would run its tests too). */
function chromiumPath (): string {
  const found = [process.env.HOLDFAST_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => p != null && p !== '' && existsSync(p))
  if (found == null) throw new Error('no Chromium found: install Debian\'s chromium package (apt-get install chromium), or set HOLDFAST_CHROMIUM')
  return found
}

describe('dashboard: settings and pairing in a browser (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let ay: RunningDaemon
  let bee: RunningDaemon
  let baseA: string
  let baseB: string
  let browser: Browser
  let context: BrowserContext
  let pageA: Page
  let pageB: Page
  const shots = process.env.HOLDFAST_SCREENSHOTS

  before(async function () {
    dir = await makeTempDir('dashboard-settings')
    await Promise.all(['ay', 'bee'].map(async name => {
      const home = join(dir, name)
      expectCode(await hf(home, ['init', '--home', home, '--name', name, '--site', name === 'ay' ? 'home' : 'cabin']), 0, `init ${name}`)
      await writeFile(join(home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '127.0.0.1:0' }, maintenance: { enabled: false } }, null, 2))
    }))
    ;[ay, bee] = await Promise.all([startDaemon(join(dir, 'ay')), startDaemon(join(dir, 'bee'))])
    const gui = async (d: RunningDaemon): Promise<string> => (JSON.parse(await readFile(join(d.home, 'daemon.json'), 'utf8')) as { gui: string }).gui
    baseA = await gui(ay)
    baseB = await gui(bee)
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
    context = await browser.newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseA })
    pageA = await context.newPage()
    pageB = await context.newPage()
  })

  after(async function () {
    await browser?.close()
    await Promise.all([ay, bee].filter(d => d != null).map(async d => await d.stop()))
    await removeDir(dir)
  })

  const shot = async (page: Page, name: string): Promise<void> => {
    if (shots == null) return
    await mkdir(shots, { recursive: true })
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })
  }

  it('pairs two nodes through their Peers pages: invite (code, Copy, QR code) on one, accept on the other', async function () {
    await pageA.goto(`${baseA}/#/peers`)
    await pageA.getByRole('heading', { name: 'Peers' }).waitFor()
    await pageA.getByText('Invite a peer').click()
    await pageA.getByLabel('Room you grant them').first().fill('3GiB')
    await pageA.getByLabel('Their name here (optional)').first().fill('bee at the cabin')
    await pageA.getByLabel('Code valid for').selectOption({ label: '1 hour' })
    await pageA.getByRole('button', { name: 'Create invite code' }).click()
    const codeBox = pageA.getByTestId('invite-code')
    await codeBox.waitFor()
    const code = await codeBox.inputValue()
    assert.ok(code.length > 40, `an invite code: ${code}`)
    const qr = pageA.getByTestId('invite-qr')
    assert.match(await qr.getAttribute('src') ?? '', /^data:image\/svg\+xml;base64,/)
    assert.ok(await qr.evaluate(async (img: any) => { await img.decode(); return img.naturalWidth as number }) > 0, 'the QR code image loads')
    assert.equal(await qr.getAttribute('alt'), 'QR code of the invite code')
    await pageA.getByRole('button', { name: 'Copy' }).click()
    await pageA.getByText('Copied').waitFor()
    const copied = await pageA.evaluate('navigator.clipboard.readText()') as string
    assert.equal(copied, code)
    await shot(pageA, 'peers-invite')

    await pageB.goto(`${baseB}/#/peers`)
    await pageB.getByRole('heading', { name: 'Peers' }).waitFor()
    await pageB.getByText('Accept an invite').click()
    await pageB.getByLabel('Invite code').fill(copied)
    await pageB.locator('#accept-quota').fill('2GiB')
    await pageB.locator('#accept-name').fill('ay at home')
    await pageB.getByRole('button', { name: 'Pair' }).click()
    await pageB.getByText('Paired with ay at home (home).').waitFor({ timeout: 30_000 })
    await pageB.getByTestId('peers').getByText('ay at home').waitFor()
    await shot(pageB, 'peers-accepted')
    await pageA.reload()
    await pageA.getByTestId('peers').getByText('bee at the cabin').waitFor()
    assert.match(await pageA.getByTestId('peers').innerText(), /bee at the cabin[^]*cabin[^]*of 3\.0 GiB you grant/)
  })

  it('revokes a peer after a confirmation dialog (Escape cancels and gives focus back)', async function () {
    const revoke = pageA.getByRole('button', { name: 'Revoke bee at the cabin' })
    await revoke.click()
    const dialog = pageA.getByRole('dialog', { name: 'Revoke bee at the cabin?' })
    await dialog.waitFor()
    assert.equal(await pageA.evaluate('document.activeElement?.textContent'), 'Cancel', 'focus in the dialog, on Cancel')
    await shot(pageA, 'peers-revoke-dialog')
    await pageA.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })
    assert.equal(await pageA.evaluate("document.activeElement?.getAttribute('aria-label')"), 'Revoke bee at the cabin', 'focus back on the button')
    const before = JSON.parse(await readFile(join(ay.home, 'trust.json'), 'utf8'))
    assert.doesNotMatch(JSON.stringify(before), /"revoked":true/, 'nothing revoked on Escape')
    await revoke.click()
    await dialog.getByRole('button', { name: 'Revoke' }).click()
    await dialog.waitFor({ state: 'hidden' })
    await pageA.getByTestId('peers').getByText('revoked').waitFor()
    assert.equal(await pageA.getByRole('button', { name: 'Revoke bee at the cabin' }).count(), 0)
    assert.match(JSON.stringify(JSON.parse(await readFile(join(ay.home, 'trust.json'), 'utf8'))), /"revoked":true/)
  })

  it('Settings: a saved value lands in node.json and says what applied now; an invalid one shows the daemon\'s error text', async function () {
    const path = join(ay.home, 'node.json')
    await pageA.goto(`${baseA}/#/settings`)
    await pageA.getByRole('heading', { name: 'Settings' }).waitFor()
    await pageA.getByLabel('Keep daily').fill('7')
    await pageA.getByRole('button', { name: 'Save retention' }).click()
    const retention = pageA.getByTestId('settings-retention')
    await retention.getByText('Saved. Applied now: retention.').waitFor()
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')).retention, { daily: 7 }, 'only the value changed is written')

    const before = await readFile(path)
    await pageA.getByLabel('Upload limit (bytes per second)').fill('lots')
    await pageA.getByRole('button', { name: 'Save bandwidth' }).click()
    const error = pageA.getByTestId('settings-bandwidth').getByTestId('settings-error')
    await error.waitFor()
    assert.equal(await error.innerText(), `${path}: bandwidth.upload must be bytes per second (a number or a size like "2MiB"), got the string "lots"`)
    assert.deepEqual(await readFile(path), before, 'node.json unchanged')

    await pageA.getByLabel('Upload limit (bytes per second)').fill('1MiB')
    await pageA.getByRole('button', { name: 'Save bandwidth' }).click()
    await pageA.getByTestId('settings-bandwidth').getByText('Saved. Applied now: bandwidth.').waitFor()
    assert.match(await pageA.getByTestId('bandwidth-active').innerText(), /upload 1\.0 MiB\/s, download unlimited/)
    assert.equal(JSON.parse(await readFile(path, 'utf8')).bandwidth.upload, '1MiB')
    await pageA.getByRole('button', { name: 'Send test' }).click()
    assert.match(await pageA.getByTestId('notification-test').innerText(), /Test failed: no notification channel is configured/)
    await shot(pageA, 'settings')
  })

  it('Settings, keys and devices: a key added opens the repository, is listed, and is removed with the other passphrase; a device link gives a code', async function () {
    await pageA.goto(`${baseA}/#/settings`)
    const keys = pageA.getByTestId('keys')
    await keys.getByTestId('key-list').waitFor()
    assert.deepEqual(await keys.locator('tbody tr').evaluateAll(rows => rows.map(r => r.getAttribute('data-label'))), ['initial'])
    await keys.getByRole('button', { name: 'Add a key' }).click()
    const add = keys.getByTestId('key-add')
    await add.getByLabel('Label').fill('laptop')
    await add.getByLabel('Your passphrase').fill('not the passphrase')
    await add.getByLabel('New passphrase', { exact: true }).fill('the laptop passphrase')
    await add.getByLabel('New passphrase again').fill('the laptop passphrase')
    await add.getByRole('button', { name: 'Add a key' }).click()
    await add.getByRole('alert').filter({ hasText: 'wrong passphrase' }).waitFor()
    await add.getByLabel('Your passphrase').fill(PASSPHRASE)
    await add.getByRole('button', { name: 'Add a key' }).click()
    await add.getByTestId('key-add-done').waitFor()
    await keys.locator('tbody tr[data-label="laptop"]').waitFor()
    // the new passphrase opens the repository: the CLI lists the snapshots with it
    expectCode(await hf(ay.home, ['snapshots'], { HOLDFAST_PASSPHRASE: 'the laptop passphrase' }), 0, 'snapshots with the added key')
    expectCode(await hf(ay.home, ['snapshots'], { HOLDFAST_PASSPHRASE: 'no key of it' }), 12, 'snapshots with no key')
    await keys.getByRole('button', { name: 'Remove key laptop' }).click()
    await keys.getByLabel('Another key\'s passphrase, to remove "laptop"').fill(PASSPHRASE)
    await keys.getByRole('button', { name: 'Remove key laptop' }).click()
    for (let i = 0; await pageA.locator('[data-testid="key-list"] tbody tr').count() !== 1; i++) {
      if (i > 100) assert.fail('the list did not change')
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    const keyFile = JSON.parse(await readFile(join(ay.home, 'key.json'), 'utf8')) as { keys: Array<{ label: string }> }
    assert.deepEqual(keyFile.keys.map(k => k.label), ['initial'])

    const devices = pageA.getByTestId('devices')
    await devices.getByLabel('Device name (optional)').fill('laptop')
    await devices.getByRole('button', { name: 'Link a device' }).click()
    assert.match(await devices.getByTestId('device-code').inputValue(), /^hf1-/)
    await shot(pageA, 'settings-keys')
  })

  it('on a phone\'s screen the Settings and Peers pages do not scroll sideways', async function () {
    await pageA.setViewportSize({ width: 360, height: 800 })
    for (const p of ['settings', 'peers']) {
      await pageA.goto(`${baseA}/#/${p}`)
      await pageA.getByRole('heading', { name: p === 'settings' ? 'Settings' : 'Peers' }).waitFor()
      if (p === 'peers') await pageA.getByText('Invite a peer').click()
      const overflow = await pageA.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth') as number
      const wide = overflow > 0 ? await pageA.evaluate("[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth).map(e => `${e.tagName.toLowerCase()}${e.id !== '' ? '#' + e.id : ''}.${e.className}`).slice(0, 8).join(', ')") as string : ''
      assert.ok(overflow <= 0, `the ${p} page is ${overflow} px wider than the screen: ${wide}`)
      await shot(pageA, `${p}-phone`)
    }
  })
})
