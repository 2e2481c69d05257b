/**
 * The repository: one home's session on its stores. Repository (open, create, workers, index,
 * snapshots) hands the work to role objects named for it: PackIo (putting and reading packs), RecordIo
 * (records), rebuild.ts (the register from the records), replicate-records.ts, repository-lock.ts (locks
 * on the stores), register.ts (the local cache). The stored formats are in src/format.
 */
export * from '../format/index.js'
export * from './register.js'
export * from './repository.js'
