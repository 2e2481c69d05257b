import { workerData } from 'node:worker_threads'
import { serveRequests } from './serve-requests.js'
import { createHash } from 'node:crypto'
import { sealBlob, sealBlobInto } from '../format/blob.js'
import { buildPack, SealedBlob, sealPackHeader } from '../format/pack.js'
import { fastMerkleRoot } from '../audit/fast-merkle-root.js'
import { CauchyCodec, createCodec } from '../erasure/index.js'
import type { BlobType, PackBlob } from '../format/format.js'

/**
 * The CPU-heavy steps of a backup, on worker threads so that every core works while the main thread
 * walks, reads and chunks:
 * - `seal`: compress and encrypt a batch of blobs straight into this worker's open pack; a pack that
 *   reaches the pack size gets its header, is erasure-coded in place and hashed, and goes back with the
 *   reply;
 * - `flush`: close the open pack (end of a session);
 * - `recycle`: take back the buffers of a pack whose shards are stored, for the next pack;
 * - `pack`: build, encode and hash a pack from blobs sealed elsewhere (trees, index).
 * Buffers travel by transfer, never by copy, and pack buffers are reused: a backup allocates a handful
 * of them instead of one per pack.
 */
export interface WorkerInit {
  encKey: Uint8Array
  level: number
  codec: string
  k: number
  m: number
  segmentSize: number
  packSize: number
  /** the worker's index in its pool, so that buffers can be sent back to it */
  index?: number
}

export interface SealBatch { types: BlobType[], ids: Uint8Array, data: Uint8Array, lengths: number[] }

/** A pack built on a worker: everything for its descriptor but where its shards go. */
export interface BuiltPack {
  id: string
  length: number
  shardSize: number
  names: string[]
  roots: string[]
  shards: Uint8Array[]
  blobs: PackBlob[]
  /** worker that owns the shards' buffers (send them back with `recycle`), or -1 */
  worker: number
}

const init = workerData as WorkerInit
const codec = createCodec(init.codec, init.k, init.m)
/** Room past the pack size: a pack is cut before a blob that would not fit. */
const SLACK = 1024 * 1024
const CAPACITY = roundUp(init.packSize + SLACK, 64 * init.k)

interface Arena { data: Buffer, parity: Buffer }
const free: Arena[] = []
const MAX_FREE = 1

interface OpenPack { arena: Arena, used: number, table: PackBlob[], headerEstimate: number }
let open: OpenPack | null = null

function roundUp (n: number, to: number): number {
  return Math.ceil(n / to) * to
}

function newArena (capacity = CAPACITY): Arena {
  return { data: Buffer.allocUnsafeSlow(capacity), parity: Buffer.allocUnsafeSlow(roundUp(capacity / init.k, 64) * init.m) }
}

function digest (bytesLength: number, packId: string, encoded: { shardSize: number, shards: Uint8Array[] }, table: PackBlob[], worker: number): BuiltPack {
  return {
    id: packId,
    length: bytesLength,
    shardSize: encoded.shardSize,
    names: encoded.shards.map(s => createHash('sha256').update(s).digest('hex')),
    roots: encoded.shards.map(s => Buffer.from(fastMerkleRoot(s, init.segmentSize)).toString('hex')),
    shards: encoded.shards,
    blobs: table,
    worker
  }
}

/** Adds the header to the open pack, encodes it in place and returns it. */
function closeOpen (): BuiltPack | null {
  if (open == null) return null
  const { arena, table } = open
  let used = open.used
  open = null
  const header = sealPackHeader(init.encKey, table)
  let target = arena
  const length = used + header.length + 4
  if (codec.k * codec.shardSizeFor(length) > arena.data.length) {
    // a header larger than the slack (very many tiny blobs): this pack gets a bigger arena of its own
    target = newArena(roundUp(length, 64 * init.k))
    arena.data.copy(target.data, 0, 0, used)
    recycle(arena)
  }
  header.copy(target.data, used)
  used += header.length
  target.data.writeUInt32LE(header.length, used)
  const packId = createHash('sha256').update(target.data.subarray(0, length)).digest('hex')
  const encoded = (codec as CauchyCodec).encodeInPlace(target.data, length, target.parity)
  return digest(length, packId, encoded, table, init.index ?? -1)
}

function recycle (arena: Arena): void {
  if (free.length < MAX_FREE && arena.data.length === CAPACITY) free.push(arena)
}

function transfers (packs: BuiltPack[]): ArrayBuffer[] {
  return [...new Set(packs.flatMap(p => p.shards.map(s => s.buffer as ArrayBuffer)))].filter(b => b.byteLength > Buffer.poolSize)
}

function handle (op: string, payload: any): { result: unknown, transfer: ArrayBuffer[] } {
  if (op === 'seal') {
    const batch = payload as SealBatch
    const packs: BuiltPack[] = []
    let at = 0
    for (let i = 0; i < batch.types.length; i++) {
      const len = batch.lengths[i]
      const id = batch.ids.subarray(i * 32, i * 32 + 32)
      const plain = batch.data.subarray(at, at + len)
      at += len
      // cut the open pack first if this blob (at most its plaintext plus overhead) might not fit
      if (open != null && open.used + len + 64 + open.headerEstimate > CAPACITY) packs.push(closeOpen()!)
      if (open == null) open = { arena: free.pop() ?? newArena(), used: 0, table: [], headerEstimate: 64 }
      let sealedLength = sealBlobInto(init.encKey, batch.types[i], id, plain, init.level, open.arena.data, open.used)
      if (sealedLength < 0) {
        // incompressible and larger than the room left: it goes alone into a bigger pack buffer
        const sealed = sealBlob(init.encKey, batch.types[i], id, plain, init.level)
        if (open.used > 0) packs.push(closeOpen()!)
        open = { arena: newArena(roundUp(sealed.length + SLACK, 64 * init.k)), used: 0, table: [], headerEstimate: 64 }
        sealed.copy(open.arena.data, 0)
        sealedLength = sealed.length
      }
      open.table.push([batch.types[i], Buffer.from(id).toString('hex'), open.used, sealedLength, len])
      open.used += sealedLength
      open.headerEstimate += 128
      if (open.used >= init.packSize) packs.push(closeOpen()!)
    }
    return { result: packs, transfer: transfers(packs) }
  }
  if (op === 'flush') {
    const pack = closeOpen()
    const packs = pack == null ? [] : [pack]
    return { result: packs, transfer: transfers(packs) }
  }
  if (op === 'recycle') {
    const { data, parity } = payload as { data: ArrayBuffer, parity: ArrayBuffer }
    recycle({ data: Buffer.from(data), parity: Buffer.from(parity) })
    return { result: null, transfer: [] }
  }
  if (op === 'pack') {
    const { bytes, table } = buildPack(init.encKey, payload.blobs as SealedBlob[])
    const packId = createHash('sha256').update(bytes).digest('hex')
    return { result: digest(bytes.length, packId, codecEncodeCopy(bytes), table, -1), transfer: [] }
  }
  throw new Error(`unknown op ${op}`)
}

function codecEncodeCopy (bytes: Uint8Array): { shardSize: number, shards: Uint8Array[] } {
  const shardSize = codec.shardSizeFor(bytes.length)
  const arena = { data: Buffer.allocUnsafeSlow(codec.k * shardSize), parity: Buffer.allocUnsafeSlow(codec.m * shardSize) }
  arena.data.set(bytes)
  return (codec as CauchyCodec).encodeInPlace(arena.data, bytes.length, arena.parity)
}

serveRequests(handle)
