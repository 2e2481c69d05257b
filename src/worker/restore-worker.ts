import { workerData } from 'node:worker_threads'
import { serveRequests } from './serve-requests.js'
import { closeSync, constants as fsConstants, fchmodSync, fchownSync, futimesSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { openBlob } from '../format/blob.js'
import type { BlobType } from '../format/format.js'

/**
 * The CPU- and syscall-heavy steps of a restore, on worker threads: open every blob of a decoded pack
 * (decrypt, decompress, check its id) and write it into the files that need it, with synchronous file
 * calls (a promise per call would cost the main thread more than the calls themselves).
 * - a file made of a single blob is written whole here: created under its temporary name, written,
 *   owner, mode and mtime set, closed and renamed into place;
 * - a piece of a larger file is written at its offset into the file's temporary name; the main thread
 *   counts the pieces and sends `finish` when the last one is written.
 * Nothing unverified is written: a blob is opened (authenticated, id checked) before its first byte goes out.
 */
export interface RestoreWorkerInit {
  encKey: Uint8Array
  idKey: Uint8Array
  /** the older key epochs' keys (data written before a key rotation), newest first */
  older?: Array<{ encryption: Uint8Array, id: Uint8Array }>
  /** set owners (running as root) */
  chown: boolean
}

/** What a file needs for its final metadata. */
export interface FileMeta { file: number, tmp: string, final: string, mode: number, uid: number, gid: number, mtime: number }

export interface PackBlobJob {
  type: BlobType
  id: string
  offset: number
  length: number
  rawLength: number
  /** whole files made of this blob alone */
  whole: FileMeta[]
  /** pieces of larger files: [file number, offset in the file, temporary name] */
  pieces: Array<[number, number, string]>
}

export interface RestorePackJob { pack: Uint8Array, blobs: PackBlobJob[] }

export interface RestorePackResult {
  /** whole files renamed into place */
  finished: number[]
  /** pieces written (a file appears once per piece) */
  written: number[]
  /** files that failed, with the reason */
  failed: Array<{ file: number, reason: string }>
  bytes: number
  /** the decoded pack, handed back (moved, not copied) so that files further on can use it again */
  pack?: Uint8Array
}

const init = workerData as RestoreWorkerInit
const keys = { encryption: init.encKey, id: init.idKey, older: init.older }
/** the key epoch that opened the last blob: tried first for the next */
const hint = { epoch: 0 }
const CREATE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW
const OPEN_PIECE = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW

function writeAll (fd: number, data: Uint8Array, position: number): void {
  let done = 0
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done)
}

/** Owner first: chown clears the set-id bits that the mode then sets. */
function setMeta (fd: number, f: FileMeta): void {
  if (init.chown) fchownSync(fd, f.uid, f.gid)
  fchmodSync(fd, f.mode)
  futimesSync(fd, f.mtime, f.mtime)
}

function writeWhole (f: FileMeta, data: Uint8Array): void {
  const fd = openSync(f.tmp, CREATE, 0o600)
  try {
    try {
      writeAll(fd, data, 0)
      setMeta(fd, f)
    } finally {
      closeSync(fd)
    }
    renameSync(f.tmp, f.final)
  } catch (err) {
    rmSync(f.tmp, { force: true })
    throw err
  }
}

function writeWholeFiles (files: FileMeta[], data: Uint8Array, result: RestorePackResult): void {
  for (const f of files) {
    try {
      writeWhole(f, data)
      result.finished.push(f.file)
      result.bytes += data.length
    } catch (err) {
      result.failed.push({ file: f.file, reason: (err as Error).message })
    }
  }
}

function restorePack (job: RestorePackJob): RestorePackResult {
  const pack = Buffer.from(job.pack.buffer, job.pack.byteOffset, job.pack.byteLength)
  const result: RestorePackResult = { finished: [], written: [], failed: [], bytes: 0 }
  for (const b of job.blobs) {
    let data: Buffer
    try {
      if (b.offset + b.length > pack.length) throw new Error(`blob ${b.id.slice(0, 12)} lies outside its pack`)
      data = openBlob(keys, b.type, b.id, pack.subarray(b.offset, b.offset + b.length), b.rawLength, hint)
    } catch (err) {
      const reason = (err as Error).message
      for (const f of b.whole) result.failed.push({ file: f.file, reason })
      for (const [file] of b.pieces) result.failed.push({ file, reason })
      continue
    }
    writeWholeFiles(b.whole, data, result)
    for (const [file, offset, tmp] of b.pieces) {
      try {
        const fd = openSync(tmp, OPEN_PIECE, 0o600)
        try { writeAll(fd, data, offset) } finally { closeSync(fd) }
        result.written.push(file)
        result.bytes += data.length
      } catch (err) {
        result.failed.push({ file, reason: (err as Error).message })
      }
    }
  }
  return result
}

function handle (op: string, payload: any): unknown {
  if (op === 'pack') return restorePack(payload as RestorePackJob)
  if (op === 'empty') {
    // files with no content: created, metadata set and renamed here too
    const result: RestorePackResult = { finished: [], written: [], failed: [], bytes: 0 }
    writeWholeFiles(payload as FileMeta[], new Uint8Array(0), result)
    return result
  }
  if (op === 'finish') {
    // the last piece of a larger file is written: metadata, then the rename
    const f = payload as FileMeta
    const fd = openSync(f.tmp, fsConstants.O_WRONLY | fsConstants.O_NOFOLLOW)
    try { setMeta(fd, f) } finally { closeSync(fd) }
    renameSync(f.tmp, f.final)
    return null
  }
  throw new Error(`unknown op ${op}`)
}

serveRequests((op, payload) => {
  const result = handle(op, payload)
  if (op === 'pack') {
    const pack = (payload as RestorePackJob).pack
    ;(result as RestorePackResult).pack = pack
    return { result, transfer: [pack.buffer as ArrayBuffer] }
  }
  return { result }
})
