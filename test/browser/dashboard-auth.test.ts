/**
 * Signing in to the dashboard in a real browser (Debian's chromium, headless): a daemon on 0.0.0.0 with
 * a GUI password, over HTTPS with its self-signed certificate (accepted here as a user would after
 * comparing its fingerprint). The page shows the sign-in form, says so when the password is wrong, shows
 * the Overview with the right one (from the keyboard), keeps the session across a reload, and signs out.
 * HOLDFAST_SCREENSHOTS=DIR saves a screenshot of the sign-in form there.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startDaemon, type RunningDaemon } from '../../scripts/lib/daemon-runner.js'
import { CLI } from '../../scripts/lib/cli-runner.js'
import { expectCode, hf, makeTempDir, removeDir } from '../integration/helpers.js'
import { chromiumPath } from './chromium-path.js'

const PASSWORD = 'browser test password'

describe('dashboard sign-in in a browser (integration)', function () {
  this.timeout(180_000)
  let dir: string
  let daemon: RunningDaemon | undefined
  let base: string
  let browser: Browser | undefined
  let context: BrowserContext
  let page: Page

  before(async function () {
    dir = await makeTempDir('dashboard-auth')
    const home = join(dir, 'nas')
    expectCode(await hf(home, ['init', '--home', home, '--name', 'nas']), 0, 'init')
    await writeFile(join(home, 'node.json'), JSON.stringify({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, dht: false, gui: { listen: '0.0.0.0:0' } }))
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'gui', 'password', '--stdin', '--home', home], { stdio: ['pipe', 'ignore', 'inherit'] })
      child.on('error', reject)
      child.on('close', resolve)
      child.stdin.end(`${PASSWORD}\n`)
    })
    assert.equal(code, 0, 'gui password --stdin')
    daemon = await startDaemon(home)
    base = (JSON.parse(await readFile(join(home, 'daemon.json'), 'utf8')) as { gui: string }).gui
    assert.match(base, /^https:/)
    browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox'] })
    context = await browser.newContext({ ignoreHTTPSErrors: true })
    page = await context.newPage()
  })

  after(async function () {
    await browser?.close()
    await daemon?.stop()
    await removeDir(dir)
  })

  it('shows the sign-in form, focused; a wrong password says so', async function () {
    await page.goto(base)
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    assert.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'login-password', 'the password field has the focus')
    await page.keyboard.type('not the password')
    await page.keyboard.press('Enter')
    const alert = page.getByRole('alert')
    await alert.waitFor()
    assert.match(await alert.innerText(), /Wrong password/)
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true')
    assert.equal(await page.getByTestId('protection-summary').count(), 0, 'no Overview before signing in')
    const shots = process.env.HOLDFAST_SCREENSHOTS
    if (shots != null) {
      await mkdir(shots, { recursive: true })
      await page.screenshot({ path: join(shots, 'sign-in.png'), fullPage: true })
    }
  })

  it('the right password shows the Overview; the session cookie is HttpOnly, SameSite=Strict, Secure and outlives a reload', async function () {
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByLabel('Password').press('Enter')
    await page.getByTestId('protection-summary').waitFor()
    await page.getByRole('button', { name: 'Sign out' }).waitFor()
    const cookies = await context.cookies(base)
    const session = cookies.find(c => c.name === 'holdfast_session')
    assert.ok(session != null, JSON.stringify(cookies))
    assert.deepEqual({ httpOnly: session.httpOnly, sameSite: session.sameSite, secure: session.secure }, { httpOnly: true, sameSite: 'Strict', secure: true })
    await page.reload()
    await page.getByTestId('protection-summary').waitFor()
  })

  it('Sign out brings the form back, and the API refuses the browser', async function () {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    const r = await context.request.get(`${base}/api/v1/status`)
    assert.equal(r.status(), 401)
    await page.reload()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  })
})
