import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { Level } from 'level'
import { isLockedByAnotherProcess } from '../repository/open-register.js'
import { LockedError } from '../errors.js'

/** A file to write, as the plan keeps it on disk until its packs come. */
export interface PlannedFile {
  /** the file's number in this restore */
  file: number
  /** its path in the snapshot */
  path: string
  /** its temporary name's random part (see restore.ts tempName) */
  tmp: string
  mode: number
  uid: number
  gid: number
  /** seconds since the epoch, for fs.utimes (see restore.ts mtimeOf) */
  mtime: number
  size: number
  /** how many blobs make it (1: written whole by one pack; more: pieces, then finished) */
  pieces: number
  /** its chunks' ids, kept only when the restore reads files back (--verify) */
  content?: string[]
}

/** One blob a pack gives to one file (at `at`, or whole when the file is that blob alone). */
export interface PlannedBlob {
  file: number
  id: string
  /** the offset in the file, or -1 for a file made of this blob alone */
  at: number
  /** the file itself, when it is this blob alone (kept in the blob's row: no second lookup) */
  whole?: PlannedFile
}

/** A directory whose metadata is set when everything below it is written. */
export interface PlannedDir { path: string, mode: number, uid: number, gid: number, mtime: number }

type Row = Array<string | number>

const hex8 = (n: number): string => n.toString(16).padStart(8, '0')

const fileRow = (f: PlannedFile): Row => [f.path, f.tmp, f.mode, f.uid, f.gid, f.mtime, f.size, f.pieces, ...(f.content != null ? [f.content.join(',')] : [])]

function parseFile (file: number, v: Row): PlannedFile {
  const content = v[8] as string | undefined
  return { file, path: v[0] as string, tmp: v[1] as string, mode: v[2] as number, uid: v[3] as number, gid: v[4] as number, mtime: v[5] as number, size: v[6] as number, pieces: v[7] as number, ...(content != null ? { content: content === '' ? [] : content.split(',') } : {}) }
}
const BATCH = 2048
/** A plan folder that cannot be opened (a crash while it was made) is removed once this old. */
const STALE_UNOPENABLE_MS = 24 * 3600_000

/**
 * A restore's plan, kept in a LevelDB of its own beside the register (never the whole snapshot in
 * memory): the files to write, the blobs each pack gives them, grouped by pack in the order the walk
 * first needed each pack, and the directories whose metadata comes last, deepest first. The restore
 * reads it back a pack at a time, so each pack is fetched once and only the files of the packs in
 * flight are in memory. The database is removed when the restore ends; one left by a killed restore is
 * removed by the next (see removeStale). Beside it, `plan-<id>.target` names the restore's scope (see
 * restoreScope), so that a restore that would write where a running one writes is refused (see claim).
 */
export class RestorePlan {
  private readonly packSeq = new Map<string, number>()
  private readonly packIds: string[] = []
  private entries = 0
  private dirs = 0
  private pending: Array<{ type: 'put', key: string, value: Row }> = []
  private flushing: Promise<void> = Promise.resolve()

  private constructor (private readonly db: Level<string, Row>, readonly path: string) {}

  /** A new, empty plan in a folder of its own under `parent`; `scope` is where the restore writes (see restoreScope). */
  static async create (parent: string, scope?: string): Promise<RestorePlan> {
    await mkdir(parent, { recursive: true })
    const path = join(parent, `plan-${randomBytes(6).toString('hex')}`)
    // read once, in order: a small block cache will do
    const db = new Level<string, Row>(path, { valueEncoding: 'json', cacheSize: 2 * 1024 * 1024 })
    await db.open()
    const plan = new RestorePlan(db, path)
    if (scope != null) {
      try { await writeFile(targetOf(path), scope) } catch (err) { await plan.destroy(); throw err }
    }
    return plan
  }

  /**
   * A plan for a restore that writes within `scope`, once no other restore of this home writes where the
   * two would meet: LockedError otherwise, naming the other's scope. The plan is held from before the
   * check, so of two restores that start together neither misses the other (both may be refused). Plans
   * killed restores left are removed first.
   */
  static async claim (parent: string, scope: string): Promise<RestorePlan> {
    await RestorePlan.removeStale(parent)
    const plan = await RestorePlan.create(parent, scope)
    try {
      const others = await RestorePlan.heldFor(parent, scope, plan.path)
      if (others.length > 0) throw new LockedError(`another restore is writing into ${others[0]}: let it end (or cancel it), then restore again`)
    } catch (err) {
      await plan.destroy()
      throw err
    }
    return plan
  }

  /**
   * The scopes of the other restores of this home running now whose scope meets `scope` (one is the
   * other, or inside it): plans under `parent` that are held open (by another process, or by another
   * restore of this one); `own` is the caller's plan, not counted. A plan that is not held is a killed
   * restore's (removeStale's business).
   */
  static async heldFor (parent: string, scope: string, own: string): Promise<string[]> {
    let names: string[]
    try { names = await readdir(parent) } catch { return [] }
    const held: string[] = []
    for (const name of names.filter(n => planOfTarget(n) != null)) {
      const plan = planOfTarget(name)!
      // (opening a folder that is not there would make it: only plans listed are tried)
      if (join(parent, plan) === own || !names.includes(plan)) continue
      const theirs = await readFile(join(parent, name), 'utf8').catch(() => undefined)
      if (theirs == null || !scopesMeet(theirs, scope)) continue
      if (await openState(join(parent, plan)) === 'held') held.push(theirs)
    }
    return held
  }

  /**
   * Removes the plans under `parent` that no running restore holds: one is removed only once this process
   * could open it (so holding its lock: a running restore holds its plan open from the moment it is made),
   * or, when it cannot be opened at all (a crash while it was made), once it is a day old.
   */
  static async removeStale (parent: string): Promise<number> {
    let names: string[]
    try { names = await readdir(parent) } catch { return 0 }
    let removed = 0
    // a plan's target name whose plan is gone (removed below by an earlier run, or never made)
    for (const name of names.filter(n => { const plan = planOfTarget(n); return plan != null && !names.includes(plan) })) {
      await rm(join(parent, name), { force: true })
    }
    for (const name of names.filter(n => n.startsWith('plan-') && planOfTarget(n) == null)) {
      const path = join(parent, name)
      // its age before the attempt below (opening writes LevelDB's LOCK and LOG files into it)
      const made = await stat(path).then(st => st.mtimeMs, () => undefined)
      const state = await openState(path)
      if (state === 'held') continue
      if (state === 'unopenable' && (made == null || Date.now() - made < STALE_UNOPENABLE_MS)) continue
      await rm(path, { recursive: true, force: true })
      await rm(targetOf(path), { force: true })
      removed++
    }
    return removed
  }

  /** Packs planned so far. */
  get packs (): number { return this.packIds.length }

  /** A file and the packs its blobs are in; a file of one blob is kept in that blob's row alone. */
  addFile (f: PlannedFile, blobs: Array<{ pack: string, id: string, at: number }>): void {
    const whole = blobs.length === 1 && blobs[0].at < 0
    if (!whole) this.put(`f${hex8(f.file)}`, fileRow(f))
    for (const b of blobs) {
      let seq = this.packSeq.get(b.pack)
      if (seq == null) {
        seq = this.packIds.length
        this.packSeq.set(b.pack, seq)
        this.packIds.push(b.pack)
      }
      this.put(`b${hex8(seq)}${hex8(this.entries++)}`, whole ? [f.file, b.id, b.at, ...fileRow(f)] : [f.file, b.id, b.at])
    }
  }

  addDir (d: PlannedDir): void {
    this.put(`d${hex8(this.dirs++)}`, [d.path, d.mode, d.uid, d.gid, d.mtime])
  }

  private put (key: string, value: Row): void {
    this.pending.push({ type: 'put', key, value })
  }

  /** Writes what is planned so far (call now and then while planning: keeps the batch small). */
  async flush (): Promise<void> {
    if (this.pending.length < BATCH) return
    await this.write()
  }

  private async write (): Promise<void> {
    const ops = this.pending
    this.pending = []
    await this.flushing
    if (ops.length > 0) this.flushing = this.db.batch(ops)
    await this.flushing
  }

  /** The blobs each pack gives, a pack at a time, in the order the walk first needed the packs. */
  async * byPack (options: { signal?: AbortSignal } = {}): AsyncGenerator<{ pack: string, blobs: PlannedBlob[] }> {
    await this.write()
    let seq = -1
    let blobs: PlannedBlob[] = []
    for await (const [key, v] of this.db.iterator({ gt: 'b', lt: 'c' })) {
      options.signal?.throwIfAborted()
      const s = parseInt(key.slice(1, 9), 16)
      if (s !== seq && blobs.length > 0) {
        yield { pack: this.packIds[seq], blobs }
        blobs = []
      }
      seq = s
      const file = v[0] as number
      blobs.push({ file, id: v[1] as string, at: v[2] as number, ...(v.length > 3 ? { whole: parseFile(file, v.slice(3)) } : {}) })
    }
    if (blobs.length > 0) yield { pack: this.packIds[seq], blobs }
  }

  /** The planned files of more than one blob with these numbers. */
  async files (numbers: number[]): Promise<PlannedFile[]> {
    if (numbers.length === 0) return []
    const rows = await this.db.getMany(numbers.map(n => `f${hex8(n)}`))
    return rows.map((v, i) => {
      if (v == null) throw new Error(`restore plan: file ${numbers[i]} is missing`)
      return parseFile(numbers[i], v)
    })
  }

  /** The directories, deepest first (the order they were added: after what they hold). */
  async * directories (): AsyncGenerator<PlannedDir> {
    await this.write()
    for await (const [, v] of this.db.iterator({ gt: 'd', lt: 'e' })) {
      yield { path: v[0] as string, mode: v[1] as number, uid: v[2] as number, gid: v[3] as number, mtime: v[4] as number }
    }
  }

  /** Closes and removes the plan. */
  async destroy (): Promise<void> {
    this.pending = []
    await this.flushing.catch(() => {})
    await this.db.close()
    await rm(this.path, { recursive: true, force: true })
    await rm(targetOf(this.path), { force: true })
  }
}

/**
 * Where a restore into `base` (its real path) of the snapshot's `part` may write or remove anything: the
 * folder that holds the part (the part may be a file; its temporary name is beside it), or the whole of
 * `base`. A restore removes stale temporaries only in `base`, in the folders on the way to the part and
 * below it, all of which are this folder, an ancestor of it or inside it; so two restores whose scopes
 * do not meet (neither is the other nor inside it) cannot touch each other's files.
 */
export function restoreScope (base: string, part?: string): string {
  if (part == null || part === '/' || part === '') return base
  return dirname(join(base, part))
}

/** Whether one of two absolute folders is the other or inside it. */
export function scopesMeet (a: string, b: string): boolean {
  const within = (inner: string, outer: string): boolean => inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`)
  return within(a, b) || within(b, a)
}

/** The file beside a plan that names its scope. */
const TARGET_SUFFIX = '.target'
const targetOf = (plan: string): string => `${plan}${TARGET_SUFFIX}`
/** The plan a file of the plans folder names the scope of, or undefined when it is not such a file. */
const planOfTarget = (name: string): string | undefined => name.startsWith('plan-') && name.endsWith(TARGET_SUFFIX) ? name.slice(0, -TARGET_SUFFIX.length) : undefined

/** Whether a plan's database is held by a running restore (this process or another), free, or cannot be opened at all. */
async function openState (path: string): Promise<'held' | 'free' | 'unopenable'> {
  const db = new Level(path)
  try {
    await db.open({ createIfMissing: false })
    await db.close()
    return 'free'
  } catch (err) {
    return isLockedByAnotherProcess(err) ? 'held' : 'unopenable'
  }
}
