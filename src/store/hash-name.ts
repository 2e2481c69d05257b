import { createHash } from 'node:crypto'

/** The name of a stored object: lowercase hex SHA-256 of its bytes. */
export function hashName (data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

const NAME = /^[0-9a-f]{64}$/

export function isObjectName (name: string): boolean {
  return NAME.test(name)
}
