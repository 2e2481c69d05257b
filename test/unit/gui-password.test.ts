import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashPassword, parsePasswordHash, SCRYPT_DEFAULTS, verifyPassword } from '../../src/web/gui-password.js'
import { GuiPasswordFile, guiSettingsPath, readGuiPassword, writeGuiPassword } from '../../src/web/gui-password-file.js'

const CHEAP = { N: 1024, r: 8, p: 1 }

describe('web/gui-password', () => {
  it('hashes with scrypt at the default cost, a random salt, and checks the right password only', async () => {
    const h = await hashPassword('correct horse battery')
    assert.deepEqual({ scheme: h.scheme, N: h.N, r: h.r, p: h.p }, { scheme: 'scrypt', ...SCRYPT_DEFAULTS })
    assert.equal(Buffer.from(h.salt, 'base64').length, 16)
    assert.equal(Buffer.from(h.hash, 'base64').length, 32)
    assert.equal(await verifyPassword(h, 'correct horse battery'), true)
    assert.equal(await verifyPassword(h, 'correct horse batterY'), false)
    assert.equal(await verifyPassword(h, ''), false)
    const again = await hashPassword('correct horse battery', CHEAP)
    assert.notEqual(again.salt, h.salt, 'a new salt each time')
    assert.equal(await verifyPassword(again, 'correct horse battery'), true, 'the parameters stored are the ones used')
  })

  it('takes the same password in either Unicode form', async () => {
    const h = await hashPassword('caf\u00e9 au lait', CHEAP)
    assert.equal(await verifyPassword(h, 'cafe\u0301 au lait'), true)
  })

  it('reads stored hashes strictly: scheme, bounds on the cost, base64', async () => {
    const h = await hashPassword('some password', CHEAP)
    assert.deepEqual(parsePasswordHash(JSON.parse(JSON.stringify(h))), h)
    for (const bad of [null, [], { ...h, scheme: 'md5' }, { ...h, N: 3000 }, { ...h, N: 2 ** 24 }, { ...h, r: 0 }, { ...h, p: 100 }, { ...h, salt: 'not base64!' }, { ...h, hash: '' }]) {
      assert.throws(() => parsePasswordHash(bad), (err: Error) => err.name === 'ConfigError', JSON.stringify(bad))
    }
  })
})

describe('web/GuiPasswordFile', () => {
  let home: string
  beforeEach(async () => { home = await mkdtemp(join(tmpdir(), 'holdfast-gui-password-')) })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  it('writes gui.json whole with mode 0600, keeps its other keys, and removes the password', async () => {
    assert.equal(await readGuiPassword(home), undefined)
    await writeFile(guiSettingsPath(home), JSON.stringify({ other: 1 }))
    const h = await hashPassword('first password', CHEAP)
    await writeGuiPassword(home, h)
    assert.equal((await stat(guiSettingsPath(home))).mode & 0o777, 0o600)
    assert.deepEqual(JSON.parse(await readFile(guiSettingsPath(home), 'utf8')), { other: 1, password: h })
    assert.deepEqual(await readGuiPassword(home), h)
    await writeGuiPassword(home, undefined)
    assert.deepEqual(JSON.parse(await readFile(guiSettingsPath(home), 'utf8')), { other: 1 })
    assert.equal(await readGuiPassword(home), undefined)
  })

  it('a running reader sees a password set, changed and removed, without a restart', async () => {
    const file = new GuiPasswordFile(home)
    assert.equal(await file.current(), undefined)
    assert.equal(await file.verify('first password'), false, 'no password: nothing passes')
    await writeGuiPassword(home, await hashPassword('first password', CHEAP))
    assert.equal(await file.verify('first password'), true)
    assert.equal(await file.verify('first password'), true, 'remembered')
    await writeGuiPassword(home, await hashPassword('second password', CHEAP))
    assert.equal(await file.verify('first password'), false, 'the old one no longer passes, remembered or not')
    assert.equal(await file.verify('second password'), true)
    await writeGuiPassword(home, undefined)
    assert.equal(await file.current(), undefined)
    assert.equal(await file.verify('second password'), false)
  })

  it('runs two checks at once, lets 32 more wait, and refuses the rest', async () => {
    await writeGuiPassword(home, await hashPassword('the password', CHEAP))
    // every scrypt check is held open until the test lets them go, so the counts do not hang on timing
    let started = 0
    let maxRunning = 0
    let running = 0
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const file = new GuiPasswordFile(home, {
      check: async (hash, password, options) => {
        started++
        maxRunning = Math.max(maxRunning, ++running)
        try {
          await gate
          return await verifyPassword(hash, password, options)
        } finally { running-- }
      }
    })
    await file.current()
    let refusedEarly = 0
    const pending = Array.from({ length: 40 }, async (_, i) => await file.verify(i === 39 ? 'the password' : `guess ${i}`))
    for (const p of pending) p.catch(() => { refusedEarly++ })
    // the six beyond 2 running + 32 waiting are refused while every check is still held
    const deadline = Date.now() + 10_000
    while (refusedEarly < 6 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 5))
    assert.equal(refusedEarly, 6)
    assert.equal(started, 2, 'two checks run, the others wait')
    release()
    const results = await Promise.allSettled(pending)
    const refused = results.filter(r => r.status === 'rejected')
    assert.equal(refused.length, 6)
    assert.ok(refused.every(r => (r as PromiseRejectedResult).reason.name === 'TooManyRequestsError'))
    assert.equal(started, 34, 'every waiting check ran in its turn')
    assert.equal(maxRunning, 2)
    // which ones wait depends on the order their reads of gui.json end in; a guess never passes
    assert.ok(results.slice(0, 39).every(r => r.status === 'rejected' || r.value === false))
    assert.equal(await file.verify('the password'), true, 'the queue is free again')
  })

  it('a broken gui.json fails closed', async () => {
    await writeFile(guiSettingsPath(home), '{ not json')
    const file = new GuiPasswordFile(home)
    await assert.rejects(file.current(), { name: 'ConfigError' })
    await assert.rejects(file.verify('anything at all'), { name: 'ConfigError' })
  })
})
