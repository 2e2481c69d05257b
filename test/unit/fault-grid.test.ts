import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makePlan, type Plan } from './fault-grid-plan.js'
import { makeTemplate, runScenario, type ScenarioResult, type Template } from './fault-grid-run.js'

/**
 * The fault grid: seeded scenarios of backups, forgets, prunes, repairs, index rebuilds and restores over
 * stores that fail, hang, corrupt, lose writes, lie, list garbage, go away and lose everything (see
 * fault-grid-plan.ts for the scenarios, fault-grid-run.ts for the invariants).
 *
 * HOLDFAST_GRID_SEED=123 runs that one scenario and prints its log; HOLDFAST_GRID_SCENARIOS=2000 runs more
 * (default 70: npm test), from seed HOLDFAST_GRID_FROM (default 1; CI runs seeds 71-200 too, in its pass
 * on the JavaScript kernels); HOLDFAST_GRID_ALL=1 runs the known-failing classes below too.
 */
const ONE = process.env.HOLDFAST_GRID_SEED != null && process.env.HOLDFAST_GRID_SEED !== '' ? Number(process.env.HOLDFAST_GRID_SEED) : undefined
const COUNT = Number(process.env.HOLDFAST_GRID_SCENARIOS ?? 70)
const FROM = Number(process.env.HOLDFAST_GRID_FROM ?? 1)
const ALL = process.env.HOLDFAST_GRID_ALL === '1'

/**
 * Scenario classes that fail today because of bugs being fixed in src/repository, src/prune and
 * src/maintenance/repair.ts; each is skipped (and replaced by the next seed) unless HOLDFAST_GRID_ALL=1.
 * Remove an entry once its bug is fixed.
 */
export const KNOWN_FAILING: Array<{ name: string, why: string, matches: (plan: Plan) => boolean }> = []

function knownFailing (plan: Plan): string | undefined {
  return KNOWN_FAILING.find(c => c.matches(plan))?.name
}

describe('fault grid: seeded scenarios over failing, hanging, corrupting and forgetful stores', function () {
  this.timeout(0)
  let root: string
  const templates = new Map<string, Promise<Template>>()
  const saved = process.env.HOLDFAST_WORKERS

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'holdfast-grid-templates-'))
    // one worker thread per pool: the scenarios are tiny, and each pool's start costs more than it saves
    process.env.HOLDFAST_WORKERS = '1'
  })

  after(async () => {
    if (saved == null) delete process.env.HOLDFAST_WORKERS; else process.env.HOLDFAST_WORKERS = saved
    await rm(root, { recursive: true, force: true })
  })

  const template = async (plan: Plan): Promise<Template> => {
    const key = `${plan.k}+${plan.m}`
    let t = templates.get(key)
    if (t == null) templates.set(key, t = makeTemplate(root, plan.k, plan.m))
    return await t
  }

  const report = (r: ScenarioResult): string => [
    `seed ${r.plan.seed} failed (rerun: HOLDFAST_GRID_SEED=${r.plan.seed}${knownFailing(r.plan) != null ? ' HOLDFAST_GRID_ALL=1' : ''}):`,
    ...r.failures.map(f => `  ! ${f}`),
    ...r.log.map(l => `    ${l}`)
  ].join('\n')

  if (ONE != null) {
    it(`scenario of seed ${ONE}`, async () => {
      const plan = makePlan(ONE)
      const r = await runScenario(plan, await template(plan))
      console.log(r.log.join('\n'))
      assert.equal(r.failures.length, 0, report(r))
    })
    return
  }

  it(`${COUNT} scenarios keep every kept snapshot restorable, and fail only with named errors`, async () => {
    const failed: ScenarioResult[] = []
    const skipped = new Map<string, number>()
    let ran = 0
    let restored = 0
    let unrecoverable = 0
    const started = Date.now()
    for (let seed = FROM; ran < COUNT; seed++) {
      const plan = makePlan(seed)
      const known = knownFailing(plan)
      if (known != null && !ALL) { skipped.set(known, (skipped.get(known) ?? 0) + 1); continue }
      const r = await runScenario(plan, await template(plan))
      ran++
      restored += r.restored
      unrecoverable += r.unrecoverable
      if (r.failures.length > 0) failed.push(r)
    }
    const skips = [...skipped].map(([k, n]) => `${n} ${k}`).join(', ')
    console.log(`      ${ran} scenarios in ${((Date.now() - started) / 1000).toFixed(1)} s: ${restored} snapshot restores exact, ${unrecoverable} justly unrecoverable, ${failed.length} failed${skips !== '' ? `; skipped as known failing: ${skips}` : ''}`)
    assert.equal(failed.length, 0, `${failed.length} of ${ran} scenarios failed: seeds ${failed.map(r => r.plan.seed).join(', ')}\n\n${failed.slice(0, 5).map(report).join('\n\n')}`)
  })
})
