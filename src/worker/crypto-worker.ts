import { parentPort, workerData } from 'node:worker_threads'
import { createHash } from 'node:crypto'
import { sealBlob } from '../repository/blob.js'
import { buildPack, SealedBlob } from '../repository/pack.js'
import { fastMerkleRoot } from '../audit/fast-merkle-root.js'
import { createCodec } from '../erasure/index.js'
import type { BlobType, PackBlob } from '../repository/format.js'

/**
 * The CPU-heavy steps of a backup, on worker threads so that every core works while the main thread
 * walks, reads and chunks:
 * - `seal`: compress and encrypt a batch of blobs and add them to this worker's open pack; a pack that
 *   reaches the pack size is built, erasure-coded and hashed, and returned with the reply;
 * - `flush`: close the open pack (end of a session);
 * - `pack`: build, encode and hash a pack from blobs sealed elsewhere (trees, index).
 * Buffers travel by transfer, never by copy.
 */
export interface WorkerInit {
  encKey: Uint8Array
  level: number
  codec: string
  k: number
  m: number
  segmentSize: number
  packSize: number
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
}

const init = workerData as WorkerInit
const codec = createCodec(init.codec, init.k, init.m)
let open: SealedBlob[] = []
let openSize = 0

async function build (blobs: SealedBlob[]): Promise<BuiltPack> {
  const { bytes, table } = buildPack(init.encKey, blobs)
  const { shards, shardSize } = await codec.encode(bytes)
  return {
    id: createHash('sha256').update(bytes).digest('hex'),
    length: bytes.length,
    shardSize,
    names: shards.map(s => createHash('sha256').update(s).digest('hex')),
    roots: shards.map(s => Buffer.from(fastMerkleRoot(s, init.segmentSize)).toString('hex')),
    shards,
    blobs: table
  }
}

async function takeOpen (): Promise<BuiltPack | null> {
  if (open.length === 0) return null
  const blobs = open
  open = []
  openSize = 0
  return await build(blobs)
}

function buffersOf (packs: BuiltPack[]): ArrayBuffer[] {
  return [...new Set(packs.flatMap(p => p.shards.map(s => s.buffer as ArrayBuffer)))].filter(b => b.byteLength > Buffer.poolSize)
}

async function handle (op: string, payload: any): Promise<{ result: unknown, transfer: ArrayBuffer[] }> {
  if (op === 'seal') {
    const batch = payload as SealBatch
    const packs: BuiltPack[] = []
    let at = 0
    for (let i = 0; i < batch.types.length; i++) {
      const len = batch.lengths[i]
      const id = batch.ids.subarray(i * 32, i * 32 + 32)
      const sealed = sealBlob(init.encKey, batch.types[i], id, batch.data.subarray(at, at + len), init.level)
      at += len
      open.push({ type: batch.types[i], id: Buffer.from(id).toString('hex'), sealed, rawLength: len })
      openSize += sealed.length
      if (openSize >= init.packSize) packs.push((await takeOpen())!)
    }
    return { result: packs, transfer: buffersOf(packs) }
  }
  if (op === 'flush') {
    const pack = await takeOpen()
    const packs = pack == null ? [] : [pack]
    return { result: packs, transfer: buffersOf(packs) }
  }
  if (op === 'pack') {
    const pack = await build(payload.blobs as SealedBlob[])
    return { result: pack, transfer: buffersOf([pack]) }
  }
  throw new Error(`unknown op ${op}`)
}

parentPort?.on('message', (msg: { id: number, op: string, payload: unknown }) => {
  handle(msg.op, msg.payload).then(({ result, transfer }) => {
    parentPort?.postMessage({ id: msg.id, result }, transfer)
  }, (err: Error) => {
    parentPort?.postMessage({ id: msg.id, error: { name: err.name, message: err.message } })
  })
})
