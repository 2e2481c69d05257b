import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Register } from './register.js'
import type { Repository } from './repository.js'
import { processAlive } from '../util/process-alive.js'

const PREFIX = 'register-reader-'

/**
 * A register of one read-only session, for when another process holds the home's register (LevelDB admits
 * one process): built from the stores' records like a rebuild, and deleted when the session closes. It
 * lives in the home, not in the system's temp directory: it caches plaintext trees (file names), which
 * belong where the real register keeps them. A reader that died leaves its directory; the next one removes it.
 */
export class EphemeralRegister extends Register {
  private constructor (private readonly dir: string) {
    super(join(dir, 'register'))
  }

  static async create (home: string): Promise<EphemeralRegister> {
    await removeLeftovers(home)
    const dir = await mkdtemp(join(home, `${PREFIX}${process.pid}-`))
    const register = new EphemeralRegister(dir)
    try {
      await register.open()
    } catch (err) {
      await rm(dir, { recursive: true, force: true })
      throw err
    }
    return register
  }

  override async close (): Promise<void> {
    try {
      await super.close()
    } finally {
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 })
    }
  }
}

/**
 * Fills an ephemeral register from the stores with the repository's own rebuild. Only snapshots whose
 * record was there before the rebuild began are kept: a backup that commits meanwhile may have written its
 * index record after the rebuild listed them, and its snapshot would then name blobs this register lacks.
 * (A snapshot record is written only once its index records are, so those listed first are whole.)
 */
export async function fillEphemeral (repo: Pick<Repository, 'listRecords' | 'rebuildIndex' | 'register'>, options: { signal?: AbortSignal } = {}): Promise<void> {
  const before = new Set(await repo.listRecords('snapshot', options))
  await repo.rebuildIndex(options)
  for (const { name } of await repo.register.snapshots()) if (!before.has(name)) await repo.register.deleteSnapshot(name)
}

/** Removes the ephemeral registers of readers that are gone (killed before they could). */
async function removeLeftovers (home: string): Promise<void> {
  let names: string[]
  try { names = await readdir(home) } catch { return }
  for (const name of names) {
    const pid = Number(/^register-reader-(\d+)-/.exec(name)?.[1])
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) await rm(join(home, name), { recursive: true, force: true }).catch(() => {})
  }
}
