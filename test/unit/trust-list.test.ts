import assert from 'node:assert/strict'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { TrustList, trustListPath, type TrustEntry } from '../../src/node/trust-list.js'
import { tempHome } from './holdfast-node-helpers.js'

const A = '12D3KooWHs313QQiuqKCQFPJ3oDDbkK51BqTCzZU5DV29mYbDzpH'
const B = '12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK'

describe('node/TrustList', () => {
  let home: string
  beforeEach(async () => { home = await tempHome() })
  afterEach(async () => { await rm(home, { recursive: true, force: true }) })

  it('add / get / list, persisted across reopen (mode 0600)', async () => {
    const t = await TrustList.open(home)
    assert.deepEqual(t.list(), [])
    const added: TrustEntry[] = []
    t.addEventListener('peer:added', (e) => { added.push(e.detail) })
    const e = await t.add({ peerId: A, name: 'alice', site: 'paris', quotaGranted: 100, quotaReceived: 50, addresses: ['/ip4/10.0.0.1/tcp/4801'] })
    assert.equal(e.peerId, A)
    assert.ok(!Number.isNaN(Date.parse(e.addedAt)))
    assert.equal(added.length, 1)
    assert.equal(t.isTrusted(A), true)
    assert.equal(t.isTrusted(B), false)
    assert.equal((await stat(trustListPath(home))).mode & 0o777, 0o600)

    const reopened = await TrustList.open(home)
    assert.deepEqual(reopened.get(A), e)
    assert.deepEqual(reopened.list(), [e])
    // get returns a copy
    reopened.get(A)!.addresses.push('/ip4/1.2.3.4/tcp/1')
    assert.deepEqual(reopened.get(A)!.addresses, ['/ip4/10.0.0.1/tcp/4801'])
  })

  it('updateAddresses and updateLastSeen write only for known peers', async () => {
    const t = await TrustList.open(home)
    await t.add({ peerId: A, name: 'alice', site: 'paris' })
    assert.equal(await t.updateAddresses(A, ['/ip4/10.0.0.9/tcp/4801']), true)
    assert.equal(await t.updateAddresses(A, ['/ip4/10.0.0.9/tcp/4801']), false) // unchanged
    assert.equal(await t.updateAddresses(B, ['/ip4/10.0.0.9/tcp/4801']), false) // unknown
    const when = new Date('2030-01-02T03:04:05.000Z')
    assert.equal(await t.updateLastSeen(A, when), true)
    assert.equal(await t.updateLastSeen(B, when), false)
    const r = await TrustList.open(home)
    assert.deepEqual(r.get(A)?.addresses, ['/ip4/10.0.0.9/tcp/4801'])
    assert.equal(r.get(A)?.lastSeen, when.toISOString())
    assert.equal(r.get(B), undefined)
  })

  it('keeps each peer\'s rhythm across reopen: days seen, absences, absences watched until a stop; a malformed rhythm is dropped, not fatal', async () => {
    const t = await TrustList.open(home)
    await t.add({ peerId: A, name: 'alice', site: 'paris' })
    await t.add({ peerId: B, name: 'bob', site: 'lyon' })
    const day = (d: number): number => Date.UTC(2030, 0, 1 + d, 12)
    await t.noteSeen([A, B, 'unknown'], day(0))
    await t.updateLastSeen(A, new Date(day(1)), 9 * 3600_000) // back after nine hours
    await t.carryAbsences(new Map([[B, 5 * 3600_000], ['unknown', 1]])) // this node stopped with bob away five hours
    const r = await TrustList.open(home)
    const d = (n: number): number => Math.floor(day(n) / 86_400_000)
    assert.deepEqual(r.get(A)?.rhythm, { days: [[d(0), 0], [d(1), 9 * 3600_000]] })
    // what was watched before the stop is carried, not yet an absence of any day
    assert.deepEqual(r.get(B)?.rhythm, { days: [[d(0), 0]], carriedMs: 5 * 3600_000 })
    // bob seen again after this node's restart, having been watched two more hours: one absence of seven
    await r.updateLastSeen(B, new Date(day(2)), (r.get(B)?.rhythm?.carriedMs ?? 0) + 2 * 3600_000)
    assert.deepEqual(r.get(B)?.rhythm, { days: [[d(0), 0], [d(2), 7 * 3600_000]] })
    // back later that day from another absence, watched for six hours: the longest of the day is kept
    await r.updateLastSeen(B, new Date(day(2) + 3600_000), 6 * 3600_000)
    assert.deepEqual(r.get(B)?.rhythm, { days: [[d(0), 0], [d(2), 7 * 3600_000]] })
    // a rhythm that is not one (a hand edit, a future format) is dropped; the peer stays trusted
    const doc = JSON.parse(await readFile(trustListPath(home), 'utf8')) as { peers: Array<Record<string, unknown>> }
    doc.peers[0].rhythm = { days: 'often' }
    await writeFile(trustListPath(home), JSON.stringify(doc))
    const again = await TrustList.open(home)
    assert.equal(again.isTrusted(A), true)
    assert.equal(again.get(A)?.rhythm, undefined)
  })

  it('revoke keeps the entry, marks it revoked and untrusted; pairing again lifts it', async () => {
    const t = await TrustList.open(home)
    await t.add({ peerId: A, name: 'alice', site: 'paris' })
    let revoked: TrustEntry | undefined
    t.addEventListener('peer:revoked', (e) => { revoked = e.detail })
    await t.revoke(A)
    assert.equal(revoked?.peerId, A)
    assert.equal(t.isTrusted(A), false)
    assert.deepEqual(t.list(), [])
    assert.equal(t.list({ includeRevoked: true })[0].revoked, true)
    assert.equal((await TrustList.open(home)).isTrusted(A), false)
    await assert.rejects(t.revoke(B), { name: 'UnknownPeerError' })
    await t.add({ peerId: A, name: 'alice', site: 'paris' })
    assert.equal(t.isTrusted(A), true)
  })

  it('concurrent changes all reach the disk', async () => {
    const t = await TrustList.open(home)
    await Promise.all([
      t.add({ peerId: A, name: 'alice', site: 'paris' }),
      t.add({ peerId: B, name: 'bob', site: 'lyon' })
    ])
    await Promise.all([t.updateLastSeen(A), t.updateAddresses(B, ['/ip4/10.0.0.2/tcp/1']), t.revoke(A)])
    const doc = JSON.parse(await readFile(trustListPath(home), 'utf8')) as { peers: TrustEntry[] }
    assert.equal(doc.peers.length, 2)
    const r = await TrustList.open(home)
    assert.equal(r.get(A)?.revoked, true)
    assert.deepEqual(r.get(B)?.addresses, ['/ip4/10.0.0.2/tcp/1'])
  })

  it('a malformed or newer file is refused with a named error', async () => {
    await writeFile(trustListPath(home), '{"version":1,"peers":[{"peerId":"x"}]}')
    await assert.rejects(TrustList.open(home), { name: 'ConfigError' })
    await writeFile(trustListPath(home), '{"version":2,"peers":[]}')
    await assert.rejects(TrustList.open(home), { name: 'UnsupportedFormatError' })
    await writeFile(trustListPath(home), 'nope')
    await assert.rejects(TrustList.open(home), { name: 'ConfigError' })
  })
})
