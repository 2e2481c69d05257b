import { parentPort, workerData } from 'node:worker_threads'
import { createHash } from 'node:crypto'
import { sealBlob } from '../repository/blob.js'
import { merkleRoot } from '../audit/merkle.js'
import type { BlobType } from '../repository/format.js'

/**
 * The CPU-heavy steps of a backup, run on worker threads so that both cores work:
 * `seal` compresses and encrypts a batch of blobs; `digest` hashes shards and computes their Merkle roots.
 */
const { encKey, level } = workerData as { encKey: Uint8Array, level: number }

/**
 * A seal batch travels as one buffer each way (moved, not copied): structured-cloning many small views
 * would copy each view's whole backing ArrayBuffer (8 KiB for Node's pooled Buffers).
 */
export interface SealBatch { types: BlobType[], ids: Uint8Array, data: Uint8Array, lengths: number[] }
export interface SealResult { data: Uint8Array, lengths: number[] }

function handle (op: string, payload: any): { result: unknown, transfer: ArrayBuffer[] } {
  if (op === 'seal') {
    const batch = payload as SealBatch
    const sealed: Buffer[] = []
    let at = 0
    for (let i = 0; i < batch.types.length; i++) {
      const len = batch.lengths[i]
      sealed.push(sealBlob(encKey, batch.types[i], batch.ids.subarray(i * 32, i * 32 + 32), batch.data.subarray(at, at + len), level))
      at += len
    }
    const out = Buffer.concat(sealed)
    const result: SealResult = { data: out, lengths: sealed.map(s => s.length) }
    return { result, transfer: out.buffer.byteLength > Buffer.poolSize ? [out.buffer as ArrayBuffer] : [] }
  }
  if (op === 'digest') {
    const shards = payload.shards as Uint8Array[]
    const names = shards.map(s => createHash('sha256').update(s).digest('hex'))
    const roots = shards.map(s => Buffer.from(merkleRoot(s, payload.segmentSize)).toString('hex'))
    const transfer = [...new Set(shards.map(s => s.buffer as ArrayBuffer))].filter(b => b.byteLength > Buffer.poolSize)
    // the pack's id is the SHA-256 of its bytes: the data shards, without the padding
    const pack = createHash('sha256')
    let left = payload.length as number
    for (let i = 0; i < payload.k && left > 0; i++) {
      const part = shards[i].subarray(0, Math.min(left, shards[i].length))
      pack.update(part)
      left -= part.length
    }
    return { result: { names, roots, shards, packId: pack.digest('hex') }, transfer }
  }
  throw new Error(`unknown op ${op}`)
}

parentPort?.on('message', (msg: { id: number, op: string, payload: unknown }) => {
  try {
    const { result, transfer } = handle(msg.op, msg.payload)
    parentPort?.postMessage({ id: msg.id, result }, transfer)
  } catch (err) {
    const e = err as Error
    parentPort?.postMessage({ id: msg.id, error: { name: e.name, message: e.message } })
  }
})
