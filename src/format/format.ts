/**
 * The stored formats, version 1. docs/ARCHITECTURE.md describes each; a change to any of them bumps
 * FORMAT_VERSION and keeps a reader for the old one (test/fixtures holds a repository of each version).
 */
export const FORMAT_VERSION = 1

export type BlobType = 'data' | 'tree' | 'index'

/** Repository parameters, stored sealed as the `config` record in every store. */
export interface RepositoryConfig {
  version: 1
  id: string
  created: string
  k: number
  m: number
  codec: string
  chunker: { minSize: number, avgSize: number, maxSize: number }
  packSize: number
  compression: { codec: 'zstd', level: number }
  segmentSize: number
}

/** One blob inside a pack: [type, id (hex), offset, sealed length, plaintext length]. */
export type PackBlob = [BlobType, string, number, number, number]

/** One shard of a pack: its name (SHA-256 of its bytes), the Merkle root over its segments, where it was placed. */
export interface ShardInfo {
  name: string
  root: string
  store: string
}

/** Everything needed to fetch, verify and decode a pack, and to find the blobs in it. */
export interface PackDescriptor {
  /** SHA-256 of the pack's bytes (checked after decoding). */
  id: string
  length: number
  k: number
  m: number
  codec: string
  shardSize: number
  segmentSize: number
  shards: ShardInfo[]
  blobs: PackBlob[]
}

/** A pack without its list of blobs: what fetching, decoding, auditing and moving its shards need. */
export type PackLayout = Omit<PackDescriptor, 'blobs'>

/** Plaintext of an index blob: descriptors of data and tree packs. */
export interface IndexBlob {
  v: 1
  packs: PackDescriptor[]
}

/**
 * Plaintext of an index record (kind `index`): the descriptors of data and tree packs (`entries`); records
 * written before those went inline name packs that hold index blobs instead (`packs`), still read.
 *
 * Generations: a record written by prune names the index, placement and forget records it replaces
 * (`supersedes`); a rebuild ignores every record some readable index record supersedes, so a store that
 * was away during a prune and comes back with old records cannot bring them back. `forgotten` carries
 * the names of forgotten snapshots forward from the forget records it replaces (a store that was away
 * may still hold their snapshot records). Both are optional: records written before them have neither.
 */
export interface IndexRecord {
  v: 1
  created: string
  /** descriptors of packs holding index blobs (records written before the index went inline; now empty) */
  packs: PackDescriptor[]
  /** descriptors of data and tree packs, in the record itself: one copy of each record gives the index */
  entries?: PackDescriptor[]
  supersedes?: string[]
  forgotten?: string[]
}

/** One shard's new place: shard `shard` of pack `pack` lives on store `store` from this record on. */
export interface PlacementMove {
  pack: string
  shard: number
  store: string
}

/**
 * Plaintext of a placement record (kind `placement`): where shards moved after the index that describes
 * their pack was written (repair, rebalancing). Sealed with the node's record key (derived from its
 * identity, so the daemon's unattended repairs can write it without the passphrase). A rebuild applies
 * the placement records in the order of `created` over the index's descriptors.
 */
export interface PlacementRecord {
  v: 1
  created: string
  moves: PlacementMove[]
}

/**
 * Plaintext of a forget record (kind `forget`): snapshots forgotten. Written before their snapshot
 * records are deleted, so that a store that was away and still holds one cannot bring it back.
 */
export interface ForgetRecord {
  v: 1
  created: string
  snapshots: string[]
}

/**
 * Plaintext of a lock record (kind `lock`, see repository-lock.ts), sealed with the node record key like
 * placement records. A refresh writes a new record (a new name) and deletes the old one.
 */
export interface LockRecord {
  v: 1
  kind: 'exclusive' | 'shared'
  /** the command holding it: prune, backup, repair... */
  what: string
  hostname: string
  home: string
  pid: number
  created: string
  refreshed: string
}

export interface SnapshotSummary {
  filesNew: number
  filesChanged: number
  filesUnchanged: number
  dirs: number
  bytesRead: number
  bytesAdded: number
  bytesStored: number
  totalFiles: number
  totalBytes: number
  errors: number
  durationMs: number
}

/** Plaintext of a snapshot record (kind `snapshot`). */
export interface SnapshotRecord {
  v: 1
  time: string
  hostname: string
  username: string
  paths: string[]
  tree: string
  parent?: string
  partial: boolean
  /** Labels given at backup time (`--tag`), sorted; kept by `forget --keep-tag`. */
  tags?: string[]
  /** Pinned by `holdfast archive`: no retention policy removes it. */
  archived?: boolean
  summary: SnapshotSummary
}

export type NodeType = 'file' | 'dir' | 'symlink'

/** One entry of a directory, as stored in a tree blob. */
export interface TreeNode {
  name: string
  type: NodeType
  mode: number
  /** nanoseconds since the epoch, as a decimal string */
  mtime: string
  /**
   * status change time, nanoseconds, decimal string (absent in trees written before it was kept: such a
   * file is read once more by the next backup). Change detection compares it, as restic does.
   */
  ctime?: string
  uid: number
  gid: number
  inode: number
  size: number
  /** files: ids of their chunks in order */
  content?: string[]
  /** directories: id of their tree blob */
  subtree?: string
  /** symlinks */
  target?: string
}

export interface Tree {
  v: 1
  nodes: TreeNode[]
}

/** The home's local configuration: where the repository's stores are. */
export interface HomeConfig {
  version: 1
  repository: string
  /** directory stores (`dir:PATH`); empty when the shards go to trusted peers */
  stores: string[]
  /** the shards go to the node's trusted peers (through its daemon) */
  peers?: boolean
  /**
   * A second device of the repository's owner (holdfast device join): the owner's peer id, under which
   * the hosts keep the objects this node reads, and what it may do with them.
   */
  owner?: string
  role?: 'read' | 'write'
}
