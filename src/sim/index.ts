/**
 * The scale study: many Holdfast nodes in one process on a virtual clock, running the product's placement,
 * erasure coding, audits, reputation and repair decisions (sim-network.ts), over the scenarios of
 * scenarios.ts; and placement against the fair share at many packs per owner (placement-study.ts). Used by `npm run sim` (scripts/sim.ts) and, smaller, by the test suite.
 */
export * from './seeded-random.js'
export * from './population.js'
export * from './sim-network.js'
export * from './scenarios.js'
export * from './placement-study.js'
