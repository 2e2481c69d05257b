/** Small shared helpers with no project dependencies: byte budgets, formatting. */
export * from './byte-budget.js'
export * from './format.js'
