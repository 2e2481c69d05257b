/** Small shared helpers with no project dependencies: byte budgets, formatting, deadlines. */
export * from './byte-budget.js'
export * from './format.js'
export * from './deadline.js'
