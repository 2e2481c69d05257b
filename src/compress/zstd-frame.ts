/**
 * The content size a zstd frame header declares (RFC 8878, 3.1.1.1), or null when the header does not
 * declare one or is not a zstd frame header. Read only as a hint for the size of the output buffer.
 */
export function frameContentSize (frame: Uint8Array): number | null {
  if (frame.length < 5 || frame[0] !== 0x28 || frame[1] !== 0xb5 || frame[2] !== 0x2f || frame[3] !== 0xfd) return null
  const descriptor = frame[4]
  const sizeFlag = descriptor >> 6
  const singleSegment = (descriptor >> 5) & 1
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]
  const sizeBytes = [singleSegment, 2, 4, 8][sizeFlag]
  if (sizeBytes === 0) return null
  const at = 5 + (singleSegment === 1 ? 0 : 1) + dictionaryBytes
  if (frame.length < at + sizeBytes) return null
  let size = 0
  for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + frame[at + i]
  return sizeBytes === 2 ? size + 256 : size
}
