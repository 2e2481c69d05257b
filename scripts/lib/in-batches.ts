/** Runs `work` over `items`, `width` at a time; the results in the order of the items. */
export async function inBatches<T, R> (items: T[], width: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await work(items[i], i) }
  }))
  return out
}
