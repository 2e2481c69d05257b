/**
 * Skips the running test, or from a `before` hook every test of its suite, and puts the reason in their
 * titles: mocha's skip() takes none, and a report should say why a test did not run.
 */
export function skipBecause (ctx: Mocha.Context, reason: string): never {
  const runnable = ctx.test as (Mocha.Runnable & { type?: string }) | undefined
  const tests = runnable?.type === 'hook' ? runnable.parent?.tests ?? [] : runnable != null ? [runnable] : []
  for (const t of tests) t.title += ` (skipped: ${reason})`
  ctx.skip()
}
