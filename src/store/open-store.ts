import { resolve } from 'node:path'
import { DirectoryStore, DirectoryStoreInit } from './directory-store.js'
import { ShardStore } from './shard-store.js'
import { UsageError } from '../errors.js'

/** Parses a store spec as the CLI and the home config write it: `dir:PATH`. */
export function parseStoreSpec (spec: string): { type: 'dir', path: string } {
  const m = /^dir:(.+)$/.exec(spec)
  if (m == null) throw new UsageError(`unknown store "${spec}": expected dir:PATH`)
  return { type: 'dir', path: resolve(m[1]) }
}

export function normalizeStoreSpec (spec: string): string {
  return `dir:${parseStoreSpec(spec).path}`
}

export function openStore (spec: string, init?: DirectoryStoreInit): ShardStore {
  return new DirectoryStore(parseStoreSpec(spec).path, init)
}
