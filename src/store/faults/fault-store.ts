import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { DirectoryStore } from '../directory-store.js'
import { MemoryStore } from '../memory-store.js'
import { answerChallenge } from '../../audit/challenge.js'
import { AbortedError, StoreUnavailableError } from '../../errors.js'
import { checkAbort } from '../../util/check-abort.js'
import { OBJECT_KINDS, type DamagedReport, type GetOptions, type ObjectKind, type ProveAnswer, type ProveRequest, type ShardStore, type StoreCallOptions, type StoreRhythm, type StoreUsage } from '../shard-store.js'

/**
 * A store that misbehaves on purpose, for tests and scripts only (the library never imports it): a
 * decorator around any ShardStore, like Tahoe-LAFS's no-network grid whose servers break, hang and
 * corrupt. Each fault is a probability per call, switchable at any time, drawn from the `random` source
 * given (a seeded one replays the same run); a probability of 0 draws nothing.
 *
 * Transient faults (nothing stored is harmed): `fail` (StoreUnavailableError), `hang` (never answers
 * until the call's AbortSignal fires), `corruptRead` (one byte of what `get` returns flipped),
 * `wrongObject` (`get` of X answers the bytes of another object Y), `garbageList` (names that are not
 * hex, or name nothing, mixed into `list`), `endlessList` (`list` never ends until its signal fires),
 * and `goOffline` (every call fails and `reachable()` says so, until `comeBack`).
 * Damage (what the store holds is lost): `loseWrites` (`put` resolves but stores nothing) and `wipe`.
 *
 * The ledger keeps what the store would hold had no caller deleted anything: every object it really
 * took, less what a wipe destroyed. A test compares it with what is left to tell losses caused by the
 * faults from losses caused by the code under test.
 */
export interface FaultSettings {
  fail: number
  hang: number
  corruptRead: number
  wrongObject: number
  garbageList: number
  endlessList: number
  loseWrites: number
}

export type FaultKind = keyof FaultSettings | 'offline' | 'wipe'

export const NO_FAULTS: Readonly<FaultSettings> = Object.freeze({ fail: 0, hang: 0, corruptRead: 0, wrongObject: 0, garbageList: 0, endlessList: 0, loseWrites: 0 })

export interface FaultStoreInit {
  /** Uniform in [0, 1): the source of every fault decision (default Math.random). */
  random?: () => number
  /** Called at the start of every call, before any fault is decided (a test switches faults mid-operation here). */
  onCall?: (method: string, kind?: ObjectKind, name?: string) => void
}

/** A call that hung without an AbortSignal, released by `releaseHangs` or `close`. */
const RELEASED = 'released by the test grid'

export class FaultStore implements ShardStore {
  readonly id: string
  readonly label?: string
  readonly site?: string
  /** The current fault probabilities; change them at any time. */
  readonly faults: FaultSettings = { ...NO_FAULTS }
  /** How many times each fault was injected. */
  readonly injected: Record<FaultKind, number> = { fail: 0, hang: 0, corruptRead: 0, wrongObject: 0, garbageList: 0, endlessList: 0, loseWrites: 0, offline: 0, wipe: 0 }
  /** Calls that hung with no AbortSignal to end them (the caller could not have stopped waiting). */
  hangsWithoutSignal = 0
  /** Every delete asked of this store, in order. */
  readonly deletions: Array<{ kind: ObjectKind, name: string }> = []
  /** `${kind}/${name}` of every object really stored and not wiped since; deletes do not remove them. */
  readonly ledger = new Set<string>()
  onCall?: (method: string, kind?: ObjectKind, name?: string) => void
  damaged?: (options?: StoreCallOptions) => Promise<DamagedReport[]>
  private readonly random: () => number
  private offlineAt?: number
  private releaser = new AbortController()

  constructor (readonly inner: ShardStore, init: FaultStoreInit = {}) {
    this.id = inner.id
    this.label = inner.label
    this.site = inner.site
    this.random = init.random ?? Math.random
    this.onCall = init.onCall
    const damaged = inner.damaged
    if (damaged != null) {
      this.damaged = async (options: StoreCallOptions = {}) => {
        await this.enter('damaged', undefined, options.signal)
        return await damaged.call(inner, options)
      }
    }
  }

  /** Goes offline (every call fails, `reachable()` is false) as of `since` (ms since the epoch; default now). */
  goOffline (since = Date.now()): void {
    this.offlineAt = since
  }

  comeBack (): void {
    this.offlineAt = undefined
  }

  get offline (): boolean {
    return this.offlineAt != null
  }

  /** True while any fault is switched on (offline included). */
  get faulty (): boolean {
    return this.offline || Object.values(this.faults).some(p => p > 0)
  }

  /** Switches every fault off and brings the store back; what was lost stays lost. */
  heal (): void {
    Object.assign(this.faults, NO_FAULTS)
    this.comeBack()
  }

  /** Ends every call hanging now (hangs without a signal, endless lists): they fail with StoreUnavailableError. */
  releaseHangs (): void {
    this.releaser.abort(new StoreUnavailableError(`store ${this.id}: ${RELEASED}`))
    this.releaser = new AbortController()
  }

  /** Loses everything the store holds (a disk replaced, a peer reinstalled). */
  async wipe (): Promise<void> {
    this.injected.wipe++
    for (const kind of OBJECT_KINDS) {
      const names: string[] = []
      for await (const name of this.inner.list(kind)) names.push(name)
      for (const name of names) await this.inner.delete(kind, name)
    }
    // what it had in quarantine goes too
    if (this.inner instanceof MemoryStore) this.inner.quarantined.clear()
    if (this.inner instanceof DirectoryStore) await rm(join(this.inner.root, 'quarantine'), { recursive: true, force: true })
    this.ledger.clear()
  }

  reachable (): boolean {
    return this.offlineAt == null && this.inner.reachable?.() !== false
  }

  offlineSince (): number | undefined {
    return this.offlineAt ?? this.inner.offlineSince?.()
  }

  /** An outage of this fault store has no rhythm (the fixed graces apply); otherwise the inner store's. */
  rhythm (): StoreRhythm | undefined {
    return this.offlineAt != null ? undefined : this.inner.rhythm?.()
  }

  freeBytes (): number | undefined {
    return this.inner.freeBytes?.()
  }

  async put (kind: ObjectKind, name: string, data: Uint8Array, options: StoreCallOptions = {}): Promise<void> {
    await this.enter('put', kind, options.signal, name)
    if (this.hit('loseWrites')) return
    await this.inner.put(kind, name, data, options)
    this.ledger.add(`${kind}/${name}`)
  }

  async get (kind: ObjectKind, name: string, options: GetOptions = {}): Promise<Uint8Array> {
    await this.enter('get', kind, options.signal, name)
    let data = await this.inner.get(kind, name, options)
    if (this.faults.wrongObject > 0 && this.hit('wrongObject')) data = await this.another(kind, name, options) ?? flip(data, this.random)
    if (this.hit('corruptRead')) data = flip(data, this.random)
    return data
  }

  async has (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    await this.enter('has', kind, options.signal, name)
    return await this.inner.has(kind, name, options)
  }

  async * list (kind: ObjectKind, options: StoreCallOptions = {}): AsyncIterable<string> {
    await this.enter('list', kind, options.signal)
    const garbage = this.hit('garbageList')
    const endless = this.hit('endlessList')
    for await (const name of this.inner.list(kind, options)) {
      if (garbage && this.random() < 0.5) yield this.garbageName()
      yield name
    }
    if (garbage) yield this.garbageName()
    const release = this.releaser.signal
    for (let i = 0; endless; i++) {
      if (i % 64 === 0) await yieldToLoop() // lets the caller's timers (its deadline) fire
      checkAbort(options.signal)
      if (release.aborted) throw release.reason
      if (options.signal == null && i === 0) this.hangsWithoutSignal++
      yield garbage ? this.garbageName() : this.hex(64)
    }
  }

  async delete (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<void> {
    await this.enter('delete', kind, options.signal, name)
    this.deletions.push({ kind, name })
    await this.inner.delete(kind, name, options)
  }

  async quarantine (kind: ObjectKind, name: string, graceMs: number, options: StoreCallOptions = {}): Promise<void> {
    await this.enter('quarantine', kind, options.signal, name)
    if (this.inner.quarantine == null) throw new StoreUnavailableError(`store ${this.id} has no quarantine`)
    this.deletions.push({ kind, name })
    await this.inner.quarantine(kind, name, graceMs, options)
  }

  async release (kind: ObjectKind, name: string, options: StoreCallOptions = {}): Promise<boolean> {
    await this.enter('release', kind, options.signal, name)
    return await this.inner.release?.(kind, name, options) ?? false
  }

  async purgeQuarantine (options: StoreCallOptions = {}): Promise<number> {
    await this.enter('purgeQuarantine', undefined, options.signal)
    return await this.inner.purgeQuarantine?.(options) ?? 0
  }

  async usage (options: StoreCallOptions = {}): Promise<StoreUsage> {
    await this.enter('usage', undefined, options.signal)
    return await this.inner.usage(options)
  }

  async prove (kind: ObjectKind, name: string, request: ProveRequest, options: StoreCallOptions = {}): Promise<ProveAnswer> {
    await this.enter('prove', kind, options.signal, name)
    // a store that corrupts what it reads answers from the corrupted bytes
    if (this.inner.prove == null || this.faults.corruptRead > 0) {
      let data = await this.inner.get(kind, name, options)
      if (this.hit('corruptRead')) data = flip(data, this.random)
      return answerChallenge(data, request.segmentSize, request)
    }
    return await this.inner.prove(kind, name, request, options)
  }

  async close (): Promise<void> {
    this.releaseHangs()
    await this.inner.close()
  }

  /** The faults every call meets: the hook, the caller's signal, offline, fail, hang. */
  private async enter (method: string, kind: ObjectKind | undefined, signal?: AbortSignal, name?: string): Promise<void> {
    this.onCall?.(method, kind, name)
    checkAbort(signal)
    if (this.offlineAt != null) {
      this.injected.offline++
      throw new StoreUnavailableError(`store ${this.id} is offline`)
    }
    if (this.hit('fail')) throw new StoreUnavailableError(`store ${this.id} failed (injected)`)
    if (this.hit('hang')) await this.hang(signal)
  }

  /** Waits for the call's signal (or a release) and fails as a store that honours its signal does. */
  private async hang (signal?: AbortSignal): Promise<never> {
    if (signal == null) this.hangsWithoutSignal++
    const ends = AbortSignal.any(signal != null ? [signal, this.releaser.signal] : [this.releaser.signal])
    if (!ends.aborted) await new Promise<void>(resolve => ends.addEventListener('abort', () => resolve(), { once: true }))
    checkAbort(signal)
    throw new StoreUnavailableError(`store ${this.id}: a hung call ${RELEASED}`)
  }

  private hit (fault: keyof FaultSettings): boolean {
    const p = this.faults[fault]
    if (p <= 0 || this.random() >= p) return false
    this.injected[fault]++
    return true
  }

  /** The bytes of another object of the same kind (the asked range of it), or undefined when there is none. */
  private async another (kind: ObjectKind, name: string, options: GetOptions): Promise<Uint8Array | undefined> {
    const others = [...this.ledger].filter(k => k.startsWith(kind + '/') && k !== `${kind}/${name}`)
    for (let tries = 0; tries < 3 && others.length > 0; tries++) {
      const other = others[Math.floor(this.random() * others.length)].slice(kind.length + 1)
      try {
        return await this.inner.get(kind, other, options)
      } catch (err) {
        if (options.signal?.aborted === true) throw new AbortedError('operation aborted', { cause: options.signal.reason })
      }
    }
    return undefined
  }

  /** A listed name that names nothing: not hex at all, or hex of the right length that was never stored. */
  private garbageName (): string {
    const r = this.random()
    if (r < 0.25) return 'not-a-name'
    if (r < 0.5) return '../' + this.hex(60)
    if (r < 0.75) return this.hex(64).toUpperCase()
    return this.hex(64)
  }

  /** `digits` hex digits from the seeded source. */
  private hex (digits: number): string {
    let out = ''
    while (out.length < digits) out += Math.floor(this.random() * 2 ** 32).toString(16).padStart(8, '0')
    return out.slice(0, digits)
  }
}

/** A copy of `data` with one byte flipped (an empty object stays empty). */
function flip (data: Uint8Array, random: () => number): Uint8Array {
  const out = Uint8Array.from(data)
  if (out.length > 0) out[Math.floor(random() * out.length)] ^= 0xff
  return out
}
