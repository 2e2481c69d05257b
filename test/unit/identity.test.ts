import assert from 'node:assert/strict'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { createIdentity, identityPath, loadIdentity, loadOrCreateIdentity, peerIdOf } from '../../src/node/identity.js'
import { readProfile, writeProfile } from '../../src/node/profile.js'
import { tempHome } from './holdfast-node-helpers.js'

describe('node/identity and profile', () => {
  let home: string
  beforeEach(async () => { home = await tempHome() })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  it('creates an Ed25519 key, mode 0600, protobuf-encoded, and loads the same key back', async () => {
    const key = await createIdentity(home)
    assert.equal(key.type, 'Ed25519')
    const st = await stat(identityPath(home))
    assert.equal(st.mode & 0o777, 0o600)
    const decoded = privateKeyFromProtobuf(await readFile(identityPath(home)))
    assert.ok(decoded.equals(key))
    const again = await loadIdentity(home)
    assert.equal(peerIdOf(again).toString(), peerIdOf(key).toString())
    assert.equal((await loadOrCreateIdentity(home)).publicKey.toString(), key.publicKey.toString())
  })

  it('refuses to replace an existing identity', async () => {
    const key = await createIdentity(home)
    await assert.rejects(createIdentity(home), { name: 'IdentityError', message: /already has an identity/ })
    assert.ok((await loadIdentity(home)).equals(key))
  })

  it('a missing or corrupt identity is an IdentityError', async () => {
    await assert.rejects(loadIdentity(home), { name: 'IdentityError', message: /holdfast init/ })
    await writeFile(identityPath(home), 'not a key')
    await assert.rejects(loadIdentity(home), { name: 'IdentityError', message: /not a valid libp2p private key/ })
  })

  it('peerIdOf accepts private keys, public keys, peer ids and strings', async () => {
    const key = await loadOrCreateIdentity(home)
    const id = peerIdOf(key)
    assert.equal(peerIdOf(key.publicKey).toString(), id.toString())
    assert.equal(peerIdOf(id), id)
    assert.ok(peerIdOf(id.toString()).equals(id))
  })

  it('the profile (name and site) persists; a home without one gets defaults', async () => {
    const dflt = await readProfile(home)
    assert.equal(dflt.site, 'default')
    assert.ok(dflt.name.length > 0)
    await writeProfile(home, { name: 'nas', site: 'grandma' })
    assert.deepEqual(await readProfile(home), { name: 'nas', site: 'grandma' })
    await assert.rejects(writeProfile(home, { name: 'nas', site: '' }), { name: 'ConfigError' })
    await assert.rejects(writeProfile(home, { name: 'x'.repeat(65), site: 'a' }), { name: 'ConfigError' })
  })
})
