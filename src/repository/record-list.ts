import type { ObjectKind, ShardStore } from '../store/shard-store.js'
import { isObjectName } from '../store/hash-name.js'
import { deadline } from '../util/deadline.js'
import { raceSignal } from '../util/race-signal.js'

/** Bounds on what one store may list: a peer that lists without end or lists garbage cannot stall a rebuild. */
export interface ListLimits {
  /** names taken from one store per kind (default 200,000); a store that lists more is cut off and reported */
  maxNames?: number
  /** how long one store may take to list one kind (default 60 s) */
  timeoutMs?: number
}

export const DEFAULT_LIST_LIMITS: Required<ListLimits> = { maxNames: 200_000, timeoutMs: 60_000 }

export interface ListedNames {
  /** every valid name listed by any store, sorted */
  names: string[]
  /** stores that answered in full */
  reached: number
  /** what went wrong, one line per store (unreachable, too slow, too many names, invalid names) */
  problems: string[]
}

/**
 * The names of one kind across the stores, each store listed within its limits. A name that is not a
 * valid object name is dropped and reported; a store that fails, hangs or lists too much contributes what
 * it listed up to that point (names are only a hint: each record is fetched and authenticated before use).
 */
export async function listNames (stores: ShardStore[], kind: ObjectKind, options: ListLimits & { signal?: AbortSignal } = {}): Promise<ListedNames> {
  const maxNames = options.maxNames ?? DEFAULT_LIST_LIMITS.maxNames
  const timeoutMs = options.timeoutMs ?? DEFAULT_LIST_LIMITS.timeoutMs
  const names = new Set<string>()
  const problems: string[] = []
  let reached = 0
  await Promise.all(stores.map(async store => {
    const d = deadline(timeoutMs, options.signal)
    let count = 0
    let invalid = 0
    const it = store.list(kind, { signal: d.signal })[Symbol.asyncIterator]()
    try {
      for (;;) {
        // raced against the deadline: a store whose listing ignores its signal still cannot hold us
        const step = await raceSignal(it.next(), d.signal)
        if (step.done === true) break
        const name = step.value
        if (typeof name !== 'string' || !isObjectName(name)) { invalid++; if (invalid > maxNames) break; continue }
        if (++count > maxNames) { problems.push(`${store.id} lists more than ${maxNames} ${kind} names: the rest were ignored`); break }
        names.add(name)
      }
      if (d.signal.aborted) throw d.signal.reason
      if (invalid > 0) problems.push(`${store.id} listed ${invalid} invalid ${kind} name${invalid === 1 ? '' : 's'}`)
      if (count <= maxNames && invalid <= maxNames) reached++
    } catch (err) {
      if (options.signal?.aborted === true) throw options.signal.reason ?? err
      problems.push(d.timedOut ? `${store.id} took longer than ${timeoutMs} ms to list its ${kind} records` : `${store.id}: ${(err as Error).message}`)
    } finally {
      d.clear()
      it.return?.()?.catch(() => {})
    }
  }))
  return { names: [...names].sort(), reached, problems }
}
