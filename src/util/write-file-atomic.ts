import { open, rename } from 'node:fs/promises'

/** Writes a file whole or not at all: a temporary file beside it, fsynced, then renamed over it. */
export async function writeFileAtomic (path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  const fh = await open(tmp, 'w', mode)
  try { await fh.writeFile(data); await fh.sync() } finally { await fh.close() }
  await rename(tmp, path)
}
