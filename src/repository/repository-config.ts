import { readFile } from 'node:fs/promises'
import type { RepositoryKeys } from '../crypto/keys.js'
import { FORMAT_VERSION, type RepositoryConfig } from '../format/format.js'
import { openRecord } from '../format/records.js'
import { hashName, type ShardStore } from '../store/index.js'
import { StoreUnavailableError, UnsupportedFormatError, WrongPassphraseError } from '../errors.js'

/** The home's copy of the sealed config (absent in homes made before it was kept, or recovered ones). */
export async function readLocalConfig (path: string, keys: RepositoryKeys): Promise<RepositoryConfig | undefined> {
  let bytes: Buffer
  try { bytes = await readFile(path) } catch { return undefined }
  const config = openRecord<RepositoryConfig>([keys.encryption, ...(keys.older ?? []).map(k => k.encryption)], 'config', bytes)
  if (config.version !== FORMAT_VERSION) throw new UnsupportedFormatError(`repository format ${config.version} is not supported by this version (reads ${FORMAT_VERSION})`)
  return config
}

export async function readConfig (stores: ShardStore[], keys: RepositoryKeys, options: { signal?: AbortSignal }): Promise<RepositoryConfig> {
  const problems: string[] = []
  for (const s of stores) {
    try {
      for await (const name of s.list('config', options)) {
        const bytes = await s.get('config', name, options)
        if (hashName(bytes) !== name) { problems.push(`${s.id}: config corrupt`); continue }
        const config = openRecord<RepositoryConfig>([keys.encryption, ...(keys.older ?? []).map(k => k.encryption)], 'config', bytes)
        if (config.version !== FORMAT_VERSION) throw new UnsupportedFormatError(`repository format ${config.version} is not supported by this version (reads ${FORMAT_VERSION})`)
        return config
      }
    } catch (err) {
      if (err instanceof UnsupportedFormatError || err instanceof WrongPassphraseError) throw err
      problems.push(`${s.id}: ${(err as Error).message}`)
    }
  }
  throw new StoreUnavailableError(`the repository config could not be read from any store: ${problems.join('; ') || 'none found'}`)
}

