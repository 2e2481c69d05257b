import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createKeyFile, unlockKeyFile, type KeyFile, type RepositoryKeys } from '../../src/crypto/keys.js'
import { UnlockCache } from '../../src/daemon/unlock-cache.js'
import { WrongPassphraseError } from '../../src/errors.js'

/** A key file stand-in whose "derivation" is counted: keys from the passphrase, refused unless it is `right`. */
function fakeKeyFile (salt: string): KeyFile {
  return { version: 2, generation: 1, keys: [{ id: '0123456789abcdef', label: 'initial', created: '2026-01-01T00:00:00.000Z', kdf: { algorithm: 'scrypt', N: 1 << 14, r: 8, p: 1, salt }, wrapped: `wrapped-${salt}` }] }
}

function counting (right: string): { unlock: (kf: KeyFile, pw: string) => Promise<RepositoryKeys>, calls: () => number } {
  let calls = 0
  return {
    calls: () => calls,
    unlock: async (kf, pw) => {
      calls++
      if (pw.normalize('NFC') !== right.normalize('NFC')) throw new WrongPassphraseError('wrong passphrase')
      const k = (label: string): Buffer => createHash('sha256').update(`${kf.keys[0].kdf.salt}/${label}`).digest()
      return { encryption: k('enc'), id: k('id'), chunker: k('chunker') }
    }
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

describe('daemon/UnlockCache', () => {
  it('opens a key file the slow way once, then from memory for the same passphrase', async () => {
    const slow = counting('pass phrase')
    const cache = new UnlockCache({ unlock: slow.unlock })
    const kf = fakeKeyFile('salt-a')
    const first = await cache.unlock(kf, 'pass phrase')
    const second = await cache.unlock(kf, 'pass phrase')
    assert.equal(slow.calls(), 1)
    assert.deepEqual(second, first)
    assert.notEqual(second.encryption, first.encryption, 'each caller gets its own copy')
    cache.clear()
  })

  it('checks every passphrase: a wrong one takes the slow way and fails, and the right one still hits', async () => {
    const slow = counting('pass phrase')
    const cache = new UnlockCache({ unlock: slow.unlock })
    const kf = fakeKeyFile('salt-b')
    await cache.unlock(kf, 'pass phrase')
    await assert.rejects(cache.unlock(kf, 'pass phrasE'), (err: Error) => err.name === 'WrongPassphraseError')
    assert.equal(slow.calls(), 2)
    await cache.unlock(kf, 'pass phrase')
    assert.equal(slow.calls(), 2)
    // the same passphrase in another Unicode normal form is the same passphrase (scrypt sees NFC)
    const composed = new UnlockCache({ unlock: counting('caf\u00e9').unlock })
    await composed.unlock(kf, 'caf\u00e9')
    await composed.unlock(kf, 'cafe\u0301')
    assert.equal(composed.size, 1)
    cache.clear()
    composed.clear()
  })

  it('keeps keys per key file: another key file is opened the slow way', async () => {
    const slow = counting('pw')
    const cache = new UnlockCache({ unlock: slow.unlock })
    const a = await cache.unlock(fakeKeyFile('salt-c'), 'pw')
    const b = await cache.unlock(fakeKeyFile('salt-d'), 'pw')
    assert.equal(slow.calls(), 2)
    assert.notDeepEqual(a, b)
    assert.equal(cache.size, 2)
    cache.clear()
  })

  it('forgets keys idleMs after their last use and on clear(), zeroing its copies but not the callers\'', async () => {
    const slow = counting('pw')
    const cache = new UnlockCache({ unlock: slow.unlock, idleMs: 1000 })
    const kf = fakeKeyFile('salt-e')
    const keys = await cache.unlock(kf, 'pw')
    const kept = Buffer.from(keys.encryption)
    await sleep(600)
    await cache.unlock(kf, 'pw') // a use restarts the idle time
    await sleep(600)
    await cache.unlock(kf, 'pw')
    assert.equal(slow.calls(), 1)
    await sleep(1500)
    assert.equal(cache.size, 0)
    assert.deepEqual(keys.encryption, kept, 'a caller\'s keys are never zeroed')
    await cache.unlock(kf, 'pw')
    assert.equal(slow.calls(), 2)
    cache.clear()
    assert.equal(cache.size, 0)
    await cache.unlock(kf, 'pw')
    assert.equal(slow.calls(), 3)
    cache.clear()
  })

  it('keeps nothing when idleMs is 0', async () => {
    const slow = counting('pw')
    const cache = new UnlockCache({ unlock: slow.unlock, idleMs: 0 })
    await cache.unlock(fakeKeyFile('salt-f'), 'pw')
    await cache.unlock(fakeKeyFile('salt-f'), 'pw')
    assert.equal(slow.calls(), 2)
    assert.equal(cache.size, 0)
  })

  it('opens real key files (scrypt) to the keys they hold, once per passphrase', async function () {
    this.timeout(30_000)
    const { keyFile, keys } = await createKeyFile('a real passphrase')
    let derivations = 0
    const cache = new UnlockCache({ unlock: async (kf, pw) => { derivations++; return await unlockKeyFile(kf, pw) } })
    assert.deepEqual(await cache.unlock(keyFile, 'a real passphrase'), keys)
    assert.deepEqual(await cache.unlock(keyFile, 'a real passphrase'), keys)
    assert.equal(derivations, 1)
    await assert.rejects(cache.unlock(keyFile, 'not it'), (err: Error) => err.name === 'WrongPassphraseError')
    assert.equal(derivations, 2)
    cache.clear()
  })
})
