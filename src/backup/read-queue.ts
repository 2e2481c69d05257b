/**
 * The files waiting to be read, best first: lower priority rank first, then the most recently changed.
 * A binary heap: the backup's window of files in flight is ordered, not the whole tree.
 */
export interface QueuedRead<T> {
  rank: number
  /** nanoseconds since the epoch */
  mtime: bigint
  item: T
}

export class ReadQueue<T> {
  private readonly heap: Array<QueuedRead<T>> = []

  get size (): number {
    return this.heap.length
  }

  push (entry: QueuedRead<T>): void {
    const h = this.heap
    h.push(entry)
    let i = h.length - 1
    while (i > 0) {
      const up = (i - 1) >> 1
      if (!before(h[i], h[up])) break
      ;[h[i], h[up]] = [h[up], h[i]]
      i = up
    }
  }

  pop (): T | undefined {
    const h = this.heap
    if (h.length === 0) return undefined
    const top = h[0]
    const last = h.pop()!
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let best = i
        if (l < h.length && before(h[l], h[best])) best = l
        if (r < h.length && before(h[r], h[best])) best = r
        if (best === i) break
        ;[h[i], h[best]] = [h[best], h[i]]
        i = best
      }
    }
    return top.item
  }
}

function before<T> (a: QueuedRead<T>, b: QueuedRead<T>): boolean {
  return a.rank !== b.rank ? a.rank < b.rank : a.mtime > b.mtime
}
