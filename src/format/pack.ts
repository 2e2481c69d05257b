import { open, seal } from '../crypto/aead.js'
import { TamperedDataError, UnsupportedFormatError } from '../errors.js'
import type { BlobType, PackBlob } from './format.js'

/**
 * Pack layout (version 1): sealed blobs back to back, then the sealed header (the blob table as JSON),
 * then the header's sealed length as a 4-byte little-endian integer. The header repeats what the index
 * says, so a pack describes itself.
 */
const HEADER_AAD = Buffer.from('holdfast pack header v1')
export const MAX_HEADER_LENGTH = 64 * 1024 * 1024

export interface SealedBlob {
  type: BlobType
  id: string
  sealed: Uint8Array
  rawLength: number
}

/** The sealed header of a pack with this blob table. */
export function sealPackHeader (encKey: Uint8Array, table: PackBlob[]): Buffer {
  return seal(encKey, Buffer.from(JSON.stringify({ v: 1, blobs: table })), HEADER_AAD)
}

export function buildPack (encKey: Uint8Array, blobs: SealedBlob[]): { bytes: Buffer, table: PackBlob[] } {
  const table: PackBlob[] = []
  let offset = 0
  for (const b of blobs) {
    table.push([b.type, b.id, offset, b.sealed.length, b.rawLength])
    offset += b.sealed.length
  }
  const header = sealPackHeader(encKey, table)
  const bytes = Buffer.allocUnsafe(offset + header.length + 4)
  let at = 0
  for (const b of blobs) { bytes.set(b.sealed, at); at += b.sealed.length }
  header.copy(bytes, at)
  bytes.writeUInt32LE(header.length, at + header.length)
  return { bytes, table }
}

export function readPackHeader (encKey: Uint8Array, pack: Uint8Array): PackBlob[] {
  const buf = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength)
  if (buf.length < 4) throw new TamperedDataError('pack too short')
  const len = buf.readUInt32LE(buf.length - 4)
  if (len > MAX_HEADER_LENGTH || len + 4 > buf.length) throw new TamperedDataError('pack header length out of range')
  const plain = open(encKey, buf.subarray(buf.length - 4 - len, buf.length - 4), HEADER_AAD, 'pack header')
  const header = JSON.parse(plain.toString('utf8'))
  if (header.v !== 1) throw new UnsupportedFormatError(`pack header version ${String(header.v)}`)
  return header.blobs
}
