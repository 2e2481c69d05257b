/** Runs fn over items with at most `limit` calls in flight; the first failure rejects (the others run out). */
export async function forEachLimit<T> (items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) await fn(items[next++])
  }))
}
