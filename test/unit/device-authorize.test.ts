import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DeviceService } from '../../src/device/device-service.js'
import { TrustGate } from '../../src/node/gater.js'
import { TrustList } from '../../src/node/trust-list.js'

const newPeer = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

/** What a host lets an owner's devices do with that owner's objects (the shard service asks authorize). */
describe('device/authorize on a host', function () {
  let home: string
  let service: DeviceService
  let owner: string, reader: string, writer: string, kit: string, stranger: string

  before(async function () {
    home = await mkdtemp(join(tmpdir(), 'hf-authorize-'))
    const trust = await TrustList.open(home)
    ;[owner, reader, writer, kit, stranger] = await Promise.all([newPeer(), newPeer(), newPeer(), newPeer(), newPeer()])
    await trust.add({ peerId: owner, name: 'owner', site: 's', quotaGranted: 1 << 20 })
    await trust.add({ peerId: reader, name: 'owner/laptop', site: 's', deviceOf: owner, role: 'read' })
    await trust.add({ peerId: writer, name: 'owner/desk', site: 's', deviceOf: owner, role: 'write' })
    await trust.add({ peerId: kit, name: 'owner/recovery kit', site: 's', deviceOf: owner, role: 'kit' })
    const node = { peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')) } as unknown as ConstructorParameters<typeof DeviceService>[0]['node']
    service = new DeviceService({ node, home, trust, gate: new TrustGate({ trust }), bundle: async () => { throw new Error('not here') } })
  })

  after(async function () { await rm(home, { recursive: true, force: true }) })

  it('a read device reads every kind of its owner\'s objects and writes none', () => {
    for (const kind of ['shard', 'snapshot', 'key'] as const) for (const op of ['get', 'has', 'list'] as const) service.authorize(reader, owner, op, kind)
    for (const op of ['put', 'delete'] as const) assert.throws(() => service.authorize(reader, owner, op, 'shard'), { name: 'RoleError' })
  })

  it('a write device may write', () => {
    service.authorize(writer, owner, 'put', 'shard')
    service.authorize(writer, owner, 'delete', 'snapshot')
  })

  it('the recovery kit\'s reader reads the owner\'s key objects and nothing else', () => {
    for (const op of ['get', 'has', 'list'] as const) service.authorize(kit, owner, op, 'key')
    for (const kind of ['shard', 'snapshot', 'index', 'config', 'placement'] as const) assert.throws(() => service.authorize(kit, owner, 'get', kind), { name: 'RoleError' })
    assert.throws(() => service.authorize(kit, owner, 'list', undefined), { name: 'RoleError' })
    for (const op of ['put', 'delete'] as const) assert.throws(() => service.authorize(kit, owner, op, 'key'), { name: 'RoleError' })
  })

  it('no one else reaches the owner\'s objects', () => {
    assert.throws(() => service.authorize(stranger, owner, 'get', 'key'), { name: 'PeerNotTrustedError' })
    assert.throws(() => service.authorize(kit, stranger, 'get', 'key'), { name: 'PeerNotTrustedError' }, 'a device of one owner is none of another')
  })
})
