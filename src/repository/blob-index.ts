import type { BlobType } from '../format/format.js'

/** Where a blob is: its pack, its type, and its place and sizes there. */
export interface BlobLocation {
  pack: string
  type: BlobType
  offset: number
  length: number
  rawLength: number
}

const TYPES: BlobType[] = ['data', 'tree', 'index']
const ID_BYTES = 32
const EMPTY = 0
const INITIAL_CAPACITY = 1024
/** Grown (doubled) past this load: linear probing stays short. */
const MAX_LOAD = 0.7

/**
 * Every blob's location, in memory, compactly: an open-addressing hash table over typed arrays, 32 bytes
 * of id and 17 bytes of location per blob (about 70 bytes with the table's free room), against some 300
 * bytes for a Map of objects keyed by hex strings. A million blobs take about 70 MB; pack ids are kept
 * once each. Ids are keyed hashes, so their first bytes are already uniform and serve as the hash.
 * Only the first location added for an id is kept (a blob in two packs is found in the first).
 */
export class BlobIndex {
  private capacity = 0
  private ids = Buffer.alloc(0)
  /** pack number + 1 (0: empty slot) */
  private packNos = new Uint32Array(0)
  private offsets = new Uint32Array(0)
  private lengths = new Uint32Array(0)
  private rawLengths = new Uint32Array(0)
  private types = new Uint8Array(0)
  private count = 0
  private readonly packIds: string[] = []
  private readonly packNoOf = new Map<string, number>()
  private readonly scratch = Buffer.alloc(ID_BYTES)

  constructor () {
    this.allocate(INITIAL_CAPACITY)
  }

  get size (): number {
    return this.count
  }

  has (id: string): boolean {
    return this.find(id) >= 0
  }

  get (id: string): BlobLocation | undefined {
    const slot = this.find(id)
    if (slot < 0) return undefined
    return {
      pack: this.packIds[this.packNos[slot] - 1],
      type: TYPES[this.types[slot]],
      offset: this.offsets[slot],
      length: this.lengths[slot],
      rawLength: this.rawLengths[slot]
    }
  }

  /** Adds a blob's location unless the id is already there; returns whether it was added. */
  add (id: string, loc: BlobLocation): boolean {
    if (!this.parse(id)) throw new Error(`not a blob id: ${id.slice(0, 16)}`)
    let slot = this.slotOf(this.scratch)
    if (this.packNos[slot] !== EMPTY) return false
    if (this.count + 1 > this.capacity * MAX_LOAD) {
      this.allocate(this.capacity * 2)
      slot = this.slotOf(this.scratch)
    }
    let packNo = this.packNoOf.get(loc.pack)
    if (packNo == null) {
      packNo = this.packIds.length
      this.packIds.push(loc.pack)
      this.packNoOf.set(loc.pack, packNo)
    }
    this.scratch.copy(this.ids, slot * ID_BYTES)
    this.packNos[slot] = packNo + 1
    this.offsets[slot] = loc.offset
    this.lengths[slot] = loc.length
    this.rawLengths[slot] = loc.rawLength
    this.types[slot] = TYPES.indexOf(loc.type)
    this.count++
    return true
  }

  clear (): void {
    this.packIds.length = 0
    this.packNoOf.clear()
    this.count = 0
    this.allocate(INITIAL_CAPACITY)
  }

  /**
   * The slot of `id` (-1 when absent), for callers that keep a figure per blob in a typed array of
   * `slots` entries (stats counts references so); slots hold while no blob is added.
   */
  slot (id: string): number {
    return this.find(id)
  }

  /** How many slots there are (an array indexed by slot needs this many entries). */
  get slots (): number {
    return this.capacity
  }

  /** The plaintext and the stored (compressed, encrypted) length of the blob in `slot`. */
  sizesAt (slot: number): { rawLength: number, length: number } {
    return { rawLength: this.rawLengths[slot], length: this.lengths[slot] }
  }

  /** Bytes this index holds (its arrays), for the memory model. */
  get bytes (): number {
    return this.capacity * (ID_BYTES + 4 * 4 + 1)
  }

  private parse (id: string): boolean {
    return id.length === ID_BYTES * 2 && this.scratch.write(id, 'hex') === ID_BYTES
  }

  private find (id: string): number {
    if (!this.parse(id)) return -1
    const slot = this.slotOf(this.scratch)
    return this.packNos[slot] === EMPTY ? -1 : slot
  }

  /** The slot holding `id`, or the empty slot where it would go. */
  private slotOf (id: Buffer): number {
    const mask = this.capacity - 1
    let slot = id.readUInt32LE(0) & mask
    for (;;) {
      if (this.packNos[slot] === EMPTY) return slot
      if (this.ids.compare(id, 0, ID_BYTES, slot * ID_BYTES, slot * ID_BYTES + ID_BYTES) === 0) return slot
      slot = (slot + 1) & mask
    }
  }

  private allocate (capacity: number): void {
    const old = { capacity: this.capacity, ids: this.ids, packNos: this.packNos, offsets: this.offsets, lengths: this.lengths, rawLengths: this.rawLengths, types: this.types }
    this.capacity = capacity
    this.ids = Buffer.alloc(capacity * ID_BYTES)
    this.packNos = new Uint32Array(capacity)
    this.offsets = new Uint32Array(capacity)
    this.lengths = new Uint32Array(capacity)
    this.rawLengths = new Uint32Array(capacity)
    this.types = new Uint8Array(capacity)
    if (this.count === 0) return
    for (let from = 0; from < old.capacity; from++) {
      if (old.packNos[from] === EMPTY) continue
      const id = old.ids.subarray(from * ID_BYTES, from * ID_BYTES + ID_BYTES)
      const slot = this.slotOf(id)
      id.copy(this.ids, slot * ID_BYTES)
      this.packNos[slot] = old.packNos[from]
      this.offsets[slot] = old.offsets[from]
      this.lengths[slot] = old.lengths[from]
      this.rawLengths[slot] = old.rawLengths[from]
      this.types[slot] = old.types[from]
    }
  }
}
