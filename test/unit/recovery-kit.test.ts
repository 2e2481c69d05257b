import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { seal } from '../../src/crypto/aead.js'
import { deriveKey, newKdfParams } from '../../src/crypto/kdf.js'
import { addKey, createKeyFile, openKeyFile, purposeKey, removeKey, rotateKeys, serializeKeyFile } from '../../src/crypto/keys.js'
import { KIT_SECRET_LENGTH, kitSecretOf, openKitEscrow, sealKitEscrow } from '../../src/crypto/kit-escrow.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { hashName } from '../../src/store/hash-name.js'
import { keyRecordSealer, kitEscrowSealer, readSealedKeyFiles, syncKeyRecord, syncSealedKeyFile } from '../../src/repository/key-record.js'
import { KIT_KIND, kitReaderPeerId, kitSecretIn, makeKit, openKit, parseKit, type KitContents } from '../../src/recovery/index.js'

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

  it('version 3 carries no key file: it opens with any passphrase of the key file as the hosts keep it now, and with no removed one', async () => {
    const made = await createKeyFile('first', undefined, SMALL)
    const opened = await openKeyFile(made.keyFile, 'first')
    const secret = randomBytes(KIT_SECRET_LENGTH)
    const kit = parseKit(JSON.stringify(await makeKit(contents, opened.secrets, secret)))
    assert.equal(kit.v, 3)
    assert.equal(kit.keyFile, undefined, 'no key file in the kit')
    assert.equal(kit.kdf, undefined, 'no passphrase derivation of its own')
    assert.deepEqual(kitSecretIn(kit), secret)
    // the kit alone opens nothing: the key file comes from the hosts
    await assert.rejects(openKit(kit, 'first'), { name: 'RecoveryKitError' })
    const c = await openKit(kit, 'first', serializeKeyFile(made.keyFile))
    assert.deepEqual(Buffer.from(c.identity), Buffer.from(contents.identity))
    assert.deepEqual(c.keyFile, serializeKeyFile(made.keyFile))
    // after the kit: a passphrase added, the first one removed, the keys rotated
    const { keyFile: added, entry } = await addKey(made.keyFile, opened.secrets, 'second', 'laptop', SMALL)
    const withoutFirst = removeKey(added, made.keyFile.keys[0].id)
    const rotated = await rotateKeys(withoutFirst, await openKeyFile(withoutFirst, 'second'), 'second', SMALL)
    assert.equal(entry.label, 'laptop')
    const now = serializeKeyFile(rotated.keyFile)
    const later = await openKit(kit, 'second', now)
    assert.deepEqual(Buffer.from(later.identity), Buffer.from(contents.identity), 'a passphrase added after the kit opens it')
    await assert.rejects(openKit(kit, 'first', now), { name: 'WrongPassphraseError' }, 'a removed passphrase opens no kit')
    await assert.rejects(openKit(kit, 'third', now), { name: 'WrongPassphraseError' })
    // another repository's key file does not open the identity
    const other = await createKeyFile('first', undefined, SMALL)
    await assert.rejects(openKit(kit, 'first', serializeKeyFile(other.keyFile)), { name: 'WrongPassphraseError' })
    // the sealed identity is bound to the repository and peer id
    await assert.rejects(openKit({ ...kit, peerId: '12D3KooWother' }, 'second', now), { name: 'WrongPassphraseError' })
    assert.throws(() => parseKit(JSON.stringify({ ...kit, kitSecret: undefined })), { name: 'RecoveryKitError' })
    assert.throws(() => parseKit(JSON.stringify({ ...kit, kitSecret: 'c2hvcnQ=' })), { name: 'RecoveryKitError' })
  })

  it('a version 2 kit (the key file as it was, the identity under the first master secret) still opens with its key file\'s passphrases', async () => {
    const made = await createKeyFile('first', undefined, SMALL)
    const opened = await openKeyFile(made.keyFile, 'first')
    const { keyFile } = await addKey(made.keyFile, opened.secrets, 'second', 'laptop', SMALL)
    const aad = Buffer.from(`${KIT_KIND}/1 ${contents.repository} ${contents.peerId}`)
    const v2 = { kind: KIT_KIND, v: 2, created: new Date().toISOString(), repository: contents.repository, peerId: contents.peerId, name: 'owner', site: 'home', identity: seal(purposeKey(opened.secrets, 'recovery-kit-identity'), contents.identity, aad).toString('base64'), keyFile: serializeKeyFile(keyFile).toString('base64'), peers: contents.peers }
    const kit = parseKit(JSON.stringify(v2))
    for (const p of ['first', 'second']) {
      const c = await openKit(kit, p)
      assert.deepEqual(Buffer.from(c.identity), Buffer.from(contents.identity))
    }
    await assert.rejects(openKit(kit, 'third'), { name: 'WrongPassphraseError' })
    assert.throws(() => parseKit(JSON.stringify({ ...v2, keyFile: undefined })), { name: 'RecoveryKitError' })
  })

  it('the kit escrow: sealed under the kit secret, opened by it alone; the kit reader\'s identity follows from the node\'s', async () => {
    const identity = randomBytes(68)
    const secret = kitSecretOf(identity)
    assert.deepEqual(kitSecretOf(identity), secret, 'the same node, the same kit secret')
    assert.notDeepEqual(kitSecretOf(randomBytes(68)), secret)
    const made = await createKeyFile('first', undefined, SMALL)
    const bytes = serializeKeyFile(made.keyFile)
    const sealed = sealKitEscrow(secret, bytes)
    assert.ok(!sealed.toString('latin1').includes('scrypt'), 'nothing readable')
    assert.deepEqual(openKitEscrow(secret, sealed), bytes)
    assert.equal(openKitEscrow(kitSecretOf(randomBytes(68)), sealed), undefined)
    sealed[sealed.length - 1] ^= 1
    assert.equal(openKitEscrow(secret, sealed), undefined, 'a forged escrow does not open')
    const reader = await kitReaderPeerId(identity)
    assert.equal(await kitReaderPeerId(identity), reader)
    assert.notEqual(await kitReaderPeerId(randomBytes(68)), reader)
  })

  it('a store keeps one escrow and one key record of the newest key file; each opens with its own key only', async () => {
    const store = new MemoryStore('mem:escrow')
    const made = await createKeyFile('first', undefined, SMALL)
    const secret = kitSecretOf(randomBytes(68))
    const escrow = kitEscrowSealer(secret)
    const record = keyRecordSealer(made.keys)
    const v1 = serializeKeyFile(made.keyFile)
    await syncKeyRecord(store, made.keys, v1, 1)
    await syncSealedKeyFile(store, escrow, v1, 1)
    // a second writer (a backup's seeding beside the daemon) puts the same key file again: one stays
    const again = escrow.seal(v1)
    await store.put('key', hashName(again), again)
    await syncSealedKeyFile(store, escrow, v1, 1)
    assert.equal((await readSealedKeyFiles(store, escrow)).length, 1)
    assert.equal((await readSealedKeyFiles(store, record)).length, 1)
    const { keyFile: added } = await addKey(made.keyFile, (await openKeyFile(made.keyFile, 'first')).secrets, 'second', 'laptop', SMALL)
    const v2 = serializeKeyFile(added)
    await syncSealedKeyFile(store, escrow, v2, added.generation)
    const escrows = await readSealedKeyFiles(store, escrow)
    assert.deepEqual(escrows.map(e => e.bytes), [v2], 'the older escrow is gone')
    assert.deepEqual((await readSealedKeyFiles(store, record)).map(e => e.bytes), [v1], 'the key record is another kind: left alone')
    assert.equal([...store.objects.keys()].filter(k => k.startsWith('key/')).length, 2)
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
