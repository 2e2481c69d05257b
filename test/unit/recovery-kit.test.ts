import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { seal } from '../../src/crypto/aead.js'
import { deriveKey, newKdfParams } from '../../src/crypto/kdf.js'
import { addKey, createKeyFile, openKeyFile, serializeKeyFile } from '../../src/crypto/keys.js'
import { KIT_KIND, makeKit, openKit, parseKit, type KitContents } from '../../src/recovery/index.js'

const SMALL = 16 * 1024 * 1024

describe('recovery/recovery kit', function () {
  this.timeout(30_000)
  const contents: Omit<KitContents, 'keyFile'> = {
    repository: '0123456789abcdef0123456789abcdef',
    peerId: '12D3KooWtest',
    name: 'owner',
    site: 'home',
    identity: randomBytes(68),
    peers: [{ peerId: '12D3KooWpeer', name: 'peer', site: 'away', addresses: ['/ip4/127.0.0.1/tcp/1'], quotaGranted: 0, quotaReceived: 0 }]
  }

  it('version 2 opens with every passphrase of the key file it carries, and with no other', async () => {
    const made = await createKeyFile('first', undefined, SMALL)
    const opened = await openKeyFile(made.keyFile, 'first')
    const { keyFile } = await addKey(made.keyFile, opened.secrets, 'second', 'laptop', SMALL)
    const kit = parseKit(JSON.stringify(await makeKit({ ...contents, keyFile: serializeKeyFile(keyFile) }, opened.secrets)))
    assert.equal(kit.v, 2)
    assert.equal(kit.kdf, undefined, 'no passphrase derivation of its own')
    for (const p of ['first', 'second']) {
      const c = await openKit(kit, p)
      assert.deepEqual(Buffer.from(c.identity), Buffer.from(contents.identity))
      assert.deepEqual(c.peers, contents.peers)
    }
    await assert.rejects(openKit(kit, 'third'), { name: 'WrongPassphraseError' })
    // the sealed identity is bound to the repository and peer id
    await assert.rejects(openKit({ ...kit, peerId: '12D3KooWother' }, 'first'), { name: 'WrongPassphraseError' })
    assert.throws(() => parseKit(JSON.stringify({ ...kit, keyFile: undefined })), { name: 'RecoveryKitError' })
  })

  it('a version 1 kit (the identity sealed with the passphrase) still opens', async () => {
    const kdf = newKdfParams(SMALL)
    const aad = Buffer.from(`${KIT_KIND}/1 ${contents.repository} ${contents.peerId}`)
    const v1 = { kind: KIT_KIND, v: 1, created: new Date().toISOString(), repository: contents.repository, peerId: contents.peerId, name: 'owner', site: 'home', kdf, identity: seal(await deriveKey('old', kdf), contents.identity, aad).toString('base64'), peers: contents.peers }
    const c = await openKit(parseKit(JSON.stringify(v1)), 'old')
    assert.deepEqual(Buffer.from(c.identity), Buffer.from(contents.identity))
    await assert.rejects(openKit(parseKit(JSON.stringify(v1)), 'not it'), { name: 'WrongPassphraseError' })
  })
})
