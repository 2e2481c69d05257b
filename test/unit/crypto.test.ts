import assert from 'node:assert/strict'
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { NONCE_LENGTH, SEAL_OVERHEAD, TAG_LENGTH, open, seal } from '../../src/crypto/aead.js'
import { DEFAULT_KDF, KdfParams, MIN_KDF_N, deriveKey, newKdfParams, validateKdfParams } from '../../src/crypto/kdf.js'
import { KeyFile, RepositoryKeys, addKey, blobId, createKeyFile, deriveRepositoryKeys, openKeyFile, parseKeyFile, removeKey, rotateKeys, serializeKeyFile, unlockKeyFile } from '../../src/crypto/keys.js'

/** Asserts that `fn` throws (or rejects with) an error whose `name` is `name`. */
async function rejectsNamed (fn: () => unknown, name: string): Promise<void> {
  await assert.rejects(async () => { await fn() }, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

function throwsNamed (fn: () => unknown, name: string): void {
  assert.throws(fn, (err: Error) => {
    assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`)
    return true
  })
}

/** Cheap but valid scrypt parameters (the floor), for tests that derive many keys. */
function cheapParams (salt: Uint8Array = randomBytes(32)): KdfParams {
  return { algorithm: 'scrypt', N: MIN_KDF_N, r: 8, p: 1, salt: Buffer.from(salt).toString('base64') }
}

describe('crypto/aead', () => {
  const key = randomBytes(32)
  const aad = Buffer.from('holdfast test aad')

  it('seals with the documented overhead and opens to the same plaintext', () => {
    for (const len of [0, 1, 15, 16, 17, 1000, 65536]) {
      const plain = randomBytes(len)
      const sealed = seal(key, plain, aad)
      assert.equal(sealed.length, len + SEAL_OVERHEAD)
      assert.equal(SEAL_OVERHEAD, NONCE_LENGTH + TAG_LENGTH)
      assert.deepEqual(open(key, sealed, aad), plain)
    }
  })

  it('round-trips without associated data', () => {
    const plain = Buffer.from('no aad at all')
    assert.deepEqual(open(key, seal(key, plain)), plain)
  })

  it('opens a sealed message held in a subarray of a larger buffer', () => {
    const plain = Buffer.from('embedded in a larger buffer')
    const sealed = seal(key, plain, aad)
    const big = Buffer.alloc(sealed.length + 20, 0xaa)
    sealed.copy(big, 7)
    assert.deepEqual(open(key, new Uint8Array(big.buffer, big.byteOffset + 7, sealed.length), aad), plain)
  })

  it('detects every single flipped bit anywhere (nonce, body, tag)', () => {
    const plain = Buffer.from('sixteen byte msg')
    const sealed = seal(key, plain, aad)
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const bad = Buffer.from(sealed)
      bad[bit >>> 3] ^= 1 << (bit & 7)
      throwsNamed(() => open(key, bad, aad), 'TamperedDataError')
    }
  })

  it('rejects a wrong, missing or extra AAD', () => {
    const sealed = seal(key, Buffer.from('bound to its context'), aad)
    throwsNamed(() => open(key, sealed, Buffer.from('holdfast test aaD')), 'TamperedDataError')
    throwsNamed(() => open(key, sealed), 'TamperedDataError')
    const unbound = seal(key, Buffer.from('no context'))
    throwsNamed(() => open(key, unbound, aad), 'TamperedDataError')
  })

  it('rejects another key', () => {
    const sealed = seal(key, Buffer.from('secret'), aad)
    throwsNamed(() => open(randomBytes(32), sealed, aad), 'TamperedDataError')
  })

  it('rejects truncated input of every length', () => {
    const sealed = seal(key, Buffer.from('a message to be cut short'), aad)
    for (let len = 0; len < sealed.length; len++) {
      throwsNamed(() => open(key, sealed.subarray(0, len), aad), 'TamperedDataError')
    }
    // cut from the front as well
    throwsNamed(() => open(key, sealed.subarray(1), aad), 'TamperedDataError')
  })

  it('rejects appended bytes', () => {
    const sealed = seal(key, Buffer.from('exact length'), aad)
    throwsNamed(() => open(key, Buffer.concat([sealed, Buffer.of(0)]), aad), 'TamperedDataError')
  })

  it('uses a fresh random nonce: two seals of the same plaintext differ', () => {
    const plain = Buffer.from('same plaintext twice')
    const a = seal(key, plain, aad)
    const b = seal(key, plain, aad)
    assert.notDeepEqual(a, b)
    assert.notDeepEqual(a.subarray(0, NONCE_LENGTH), b.subarray(0, NONCE_LENGTH))
    assert.deepEqual(open(key, a, aad), plain)
    assert.deepEqual(open(key, b, aad), plain)
  })
})

describe('crypto/kdf', () => {
  it('newKdfParams gives scrypt N=2^17, r=8, p=1 and a fresh 32-byte salt', () => {
    const p = newKdfParams()
    assert.equal(p.algorithm, 'scrypt')
    assert.equal(p.N, 2 ** 17)
    assert.equal(p.r, 8)
    assert.equal(p.p, 1)
    assert.equal(Buffer.from(p.salt, 'base64').length, 32)
    assert.notEqual(newKdfParams().salt, p.salt)
    assert.deepEqual({ ...DEFAULT_KDF }, { algorithm: 'scrypt', N: 2 ** 17, r: 8, p: 1 })
    validateKdfParams(p)
  })

  it('newKdfParams(memory) sets N for that memory at r=8, from 16 MiB to 1 GiB, powers of two only (ConfigError)', () => {
    assert.equal(newKdfParams(16 * 1024 * 1024).N, 2 ** 14)
    assert.equal(newKdfParams(1024 * 1024 * 1024).N, 2 ** 20)
    validateKdfParams(newKdfParams(16 * 1024 * 1024))
    for (const bad of [8 * 1024 * 1024, 20 * 1024 * 1024, 2048 * 1024 * 1024, 0, -1, 1.5]) {
      assert.throws(() => newKdfParams(bad), { name: 'ConfigError' }, String(bad))
    }
  })

  it('accepts the floor and the memory ceiling', () => {
    validateKdfParams(cheapParams())
    validateKdfParams({ ...cheapParams(), N: 2 ** 20, r: 8 }) // exactly 1 GiB
    validateKdfParams({ ...cheapParams(), N: 2 ** 18, r: 32 }) // exactly 1 GiB
    validateKdfParams({ ...cheapParams(), r: 1, p: 1 })
    validateKdfParams({ ...cheapParams(), r: 32, p: 16 })
    validateKdfParams({ ...cheapParams(), salt: randomBytes(16).toString('base64') })
  })

  it('rejects N that is not a power of two', () => {
    for (const N of [3 * 2 ** 14, 2 ** 15 + 1, 2 ** 14 - 1, 1.5 * 2 ** 16, NaN, Infinity]) {
      throwsNamed(() => validateKdfParams({ ...cheapParams(), N }), 'ConfigError')
    }
  })

  it('rejects N below 2^14', () => {
    for (const N of [2 ** 13, 2 ** 10, 2, 1, 0, -(2 ** 14)]) {
      throwsNamed(() => validateKdfParams({ ...cheapParams(), N }), 'ConfigError')
    }
  })

  it('rejects r and p out of range', () => {
    for (const r of [0, -1, 33, 1.5]) throwsNamed(() => validateKdfParams({ ...cheapParams(), r }), 'ConfigError')
    for (const p of [0, -1, 17, 2.5]) throwsNamed(() => validateKdfParams({ ...cheapParams(), p }), 'ConfigError')
  })

  it('rejects parameters that ask for more than 1 GiB', () => {
    throwsNamed(() => validateKdfParams({ ...cheapParams(), N: 2 ** 21, r: 8 }), 'ConfigError')
    throwsNamed(() => validateKdfParams({ ...cheapParams(), N: 2 ** 20, r: 9 }), 'ConfigError')
    throwsNamed(() => validateKdfParams({ ...cheapParams(), N: 2 ** 19, r: 17 }), 'ConfigError')
    throwsNamed(() => validateKdfParams({ ...cheapParams(), N: 2 ** 30, r: 1 }), 'ConfigError')
  })

  it('rejects a short or missing salt', () => {
    throwsNamed(() => validateKdfParams({ ...cheapParams(), salt: randomBytes(15).toString('base64') }), 'ConfigError')
    throwsNamed(() => validateKdfParams({ ...cheapParams(), salt: '' }), 'ConfigError')
    throwsNamed(() => validateKdfParams({ ...cheapParams(), salt: undefined as unknown as string }), 'ConfigError')
  })

  it('rejects another algorithm or no parameters', () => {
    throwsNamed(() => validateKdfParams({ ...cheapParams(), algorithm: 'argon2id' as 'scrypt' }), 'ConfigError')
    throwsNamed(() => validateKdfParams(undefined as unknown as KdfParams), 'ConfigError')
  })

  it('deriveKey refuses invalid parameters before deriving', async () => {
    await rejectsNamed(() => deriveKey('pw', { ...cheapParams(), N: 2 ** 10 }), 'ConfigError')
  })

  it('deriveKey is deterministic for the same parameters and differs with another salt or passphrase', async () => {
    const params = cheapParams()
    const a = await deriveKey('correct horse battery staple', params)
    const b = await deriveKey('correct horse battery staple', { ...params })
    assert.equal(a.length, 32)
    assert.deepEqual(a, b)
    const c = await deriveKey('correct horse battery staple', cheapParams())
    assert.notDeepEqual(a, c)
    const d = await deriveKey('correct horse battery stable', params)
    assert.notDeepEqual(a, d)
  })

  it('deriveKey normalizes the passphrase to NFC', async () => {
    const params = cheapParams()
    const composed = await deriveKey('caf\u00e9', params) // é as one code point
    const decomposed = await deriveKey('cafe\u0301', params) // e + combining acute accent
    assert.deepEqual(composed, decomposed)
  })
})

describe('crypto/keys', function () {
  // createKeyFile and unlockKeyFile derive with the default N = 2^17 (~0.3 s each).
  this.timeout(20000)

  const passphrase = 'a passphrase for the test repository'
  let keyFile: KeyFile
  let keys: RepositoryKeys

  const givenMaster = randomBytes(32)
  let givenMasterKeys: RepositoryKeys

  before(async () => {
    // Both derivations at once: scrypt runs on libuv's pool.
    const [made, given] = await Promise.all([createKeyFile(passphrase), createKeyFile('another passphrase', givenMaster)])
    ;({ keyFile, keys } = made)
    givenMasterKeys = given.keys
  })

  function keysEqual (a: RepositoryKeys, b: RepositoryKeys): void {
    assert.deepEqual(a.encryption, b.encryption)
    assert.deepEqual(a.id, b.id)
    assert.deepEqual(a.chunker, b.chunker)
  }

  it('writes a version 2 key file of one key with default KDF parameters', () => {
    assert.equal(keyFile.version, 2)
    assert.equal(keyFile.generation, 1)
    assert.equal(keyFile.keys.length, 1)
    const [k] = keyFile.keys
    assert.match(k.id, /^[0-9a-f]{16}$/)
    assert.equal(k.label, 'initial')
    assert.equal(k.kdf.N, 2 ** 17)
    assert.ok(!Number.isNaN(Date.parse(k.created)))
    // wrapped = seal(one 32-byte master secret)
    assert.equal(Buffer.from(k.wrapped, 'base64').length, 32 + SEAL_OVERHEAD)
  })

  it('createKeyFile + parseKeyFile + unlockKeyFile round trip gives identical keys', async () => {
    const parsed = parseKeyFile(serializeKeyFile(keyFile))
    assert.deepEqual(parsed, keyFile)
    keysEqual(await unlockKeyFile(parsed, passphrase), keys)
  })

  it('a version 1 key file (made before keys had labels) is read as one legacy key and opens with its passphrase', async () => {
    const master = randomBytes(32)
    const kdf = newKdfParams(16 * 1024 * 1024)
    const v1 = { version: 1, created: '2025-01-01T00:00:00.000Z', kdf, wrapped: seal(await deriveKey('old one', kdf), master, Buffer.from('holdfast key v1')).toString('base64') }
    const parsed = parseKeyFile(Buffer.from(JSON.stringify(v1)))
    assert.equal(parsed.keys.length, 1)
    assert.equal(parsed.keys[0].legacy, true)
    assert.equal(parsed.keys[0].created, v1.created)
    keysEqual(await unlockKeyFile(parsed, 'old one'), deriveRepositoryKeys(master))
    await rejectsNamed(() => unlockKeyFile(parsed, 'not it'), 'WrongPassphraseError')
  })

  it('createKeyFile with a given master derives the same keys as deriveRepositoryKeys', () => {
    keysEqual(givenMasterKeys, deriveRepositoryKeys(givenMaster))
  })

  it('a wrong passphrase, or a tampered `wrapped` -> WrongPassphraseError', async () => {
    const wrapped = Buffer.from(keyFile.keys[0].wrapped, 'base64')
    wrapped[NONCE_LENGTH + 3] ^= 0x10
    const tampered: KeyFile = { ...keyFile, keys: [{ ...keyFile.keys[0], wrapped: wrapped.toString('base64') }] }
    // Run concurrently: each is a full-cost scrypt.
    await Promise.all([
      rejectsNamed(() => unlockKeyFile(keyFile, passphrase + ' '), 'WrongPassphraseError'),
      rejectsNamed(() => unlockKeyFile(tampered, passphrase), 'WrongPassphraseError')
    ])
  })

  const withKdf = (kdf: unknown): Buffer => Buffer.from(JSON.stringify({ ...keyFile, keys: [{ ...keyFile.keys[0], kdf }] }))

  it('parseKeyFile rejects a key file whose kdf.N was lowered to 2^10 (ConfigError)', () => {
    throwsNamed(() => parseKeyFile(withKdf({ ...keyFile.keys[0].kdf, N: 2 ** 10 })), 'ConfigError')
  })

  it('parseKeyFile rejects other KDF tampering (ConfigError)', () => {
    const variants: Array<Partial<KdfParams>> = [
      { salt: randomBytes(8).toString('base64') },
      { N: 2 ** 24 }, // 2 GiB
      { r: 0 },
      { algorithm: 'pbkdf2' as 'scrypt' }
    ]
    for (const v of variants) throwsNamed(() => parseKeyFile(withKdf({ ...keyFile.keys[0].kdf, ...v })), 'ConfigError')
    throwsNamed(() => parseKeyFile(withKdf(undefined)), 'ConfigError')
  })

  it('parseKeyFile rejects bad JSON, another version, no keys, a bad id or no wrapped key (UnsupportedFormatError)', () => {
    throwsNamed(() => parseKeyFile(Buffer.from('{not json')), 'UnsupportedFormatError')
    throwsNamed(() => parseKeyFile(Buffer.from('null')), 'UnsupportedFormatError')
    throwsNamed(() => parseKeyFile(Buffer.from(JSON.stringify({ ...keyFile, version: 3 }))), 'UnsupportedFormatError')
    throwsNamed(() => parseKeyFile(Buffer.from(JSON.stringify({ ...keyFile, keys: [] }))), 'UnsupportedFormatError')
    throwsNamed(() => parseKeyFile(Buffer.from(JSON.stringify({ ...keyFile, keys: [{ ...keyFile.keys[0], id: '../x' }] }))), 'UnsupportedFormatError')
    throwsNamed(() => parseKeyFile(Buffer.from(JSON.stringify({ ...keyFile, keys: [keyFile.keys[0], keyFile.keys[0]] }))), 'UnsupportedFormatError')
    const { wrapped: _, ...noWrapped } = keyFile.keys[0]
    throwsNamed(() => parseKeyFile(Buffer.from(JSON.stringify({ ...keyFile, keys: [noWrapped] }))), 'UnsupportedFormatError')
  })

  it('several keys: each opens the same master secrets; a removed one opens nothing; the last cannot be removed', async () => {
    const small = 16 * 1024 * 1024
    const first = await createKeyFile('first', undefined, small)
    const opened = await openKeyFile(first.keyFile, 'first')
    const { keyFile: two, entry } = await addKey(first.keyFile, opened.secrets, 'second', 'laptop', small)
    assert.equal(two.generation, first.keyFile.generation + 1)
    assert.equal(entry.label, 'laptop')
    keysEqual(await unlockKeyFile(two, 'second'), first.keys)
    keysEqual(await unlockKeyFile(two, 'first'), first.keys)
    const one = removeKey(two, opened.entry.id)
    await rejectsNamed(() => unlockKeyFile(one, 'first'), 'WrongPassphraseError')
    keysEqual(await unlockKeyFile(one, 'second'), first.keys)
    throwsNamed(() => removeKey(one, entry.id), 'UsageError')
    throwsNamed(() => removeKey(one, 'ffffffffffffffff'), 'UsageError')
    await rejectsNamed(() => addKey(one, opened.secrets, 'x', '', small), 'UsageError')
  })

  it('rotate: a new epoch writes, the old keys still read; refused while other keys exist', async () => {
    const small = 16 * 1024 * 1024
    const made = await createKeyFile('only', undefined, small)
    const opened = await openKeyFile(made.keyFile, 'only')
    const rotated = await rotateKeys(made.keyFile, opened, 'only', small)
    assert.equal(rotated.secrets.length, 2)
    assert.notDeepEqual(rotated.keys.encryption, made.keys.encryption)
    assert.notDeepEqual(rotated.keys.id, made.keys.id)
    assert.notDeepEqual(rotated.keys.chunker, made.keys.chunker)
    keysEqual(rotated.keys.older![0] as RepositoryKeys, made.keys)
    const reopened = await openKeyFile(parseKeyFile(serializeKeyFile(rotated.keyFile)), 'only')
    keysEqual(reopened.keys, rotated.keys)
    assert.equal(reopened.entry.id, opened.entry.id)
    const { keyFile: two } = await addKey(made.keyFile, opened.secrets, 'other', 'other', small)
    await rejectsNamed(() => rotateKeys(two, opened, 'only', small), 'UsageError')
  })

  it('deriveRepositoryKeys gives three distinct 32-byte keys, deterministically', () => {
    const master = randomBytes(32)
    const k = deriveRepositoryKeys(master)
    for (const b of [k.encryption, k.id, k.chunker]) assert.equal(b.length, 32)
    assert.notDeepEqual(k.encryption, k.id)
    assert.notDeepEqual(k.encryption, k.chunker)
    assert.notDeepEqual(k.id, k.chunker)
    for (const b of [k.encryption, k.id, k.chunker]) assert.notDeepEqual(b, master)
    keysEqual(deriveRepositoryKeys(Buffer.from(master)), k)
    const other = deriveRepositoryKeys(randomBytes(32))
    assert.notDeepEqual(other.encryption, k.encryption)
  })

  it('blobId is a keyed hash: same per key and data, differs per key and per data', () => {
    const k1 = randomBytes(32)
    const k2 = randomBytes(32)
    const data = Buffer.from('chunk of a file')
    const id = blobId(k1, data)
    assert.equal(id.length, 32)
    assert.deepEqual(blobId(k1, Buffer.from(data)), id)
    assert.notDeepEqual(blobId(k2, data), id)
    assert.notDeepEqual(blobId(k1, Buffer.from('chunk of a filE')), id)
    // HMAC, not a plain hash of the data
    assert.notDeepEqual(createHash('sha256').update(data).digest(), id)
    assert.deepEqual(createHmac('sha256', k1).update(data).digest(), id)
  })
})
