/** Small shared helpers with no project dependencies: byte budgets, formatting, deadlines, racing a signal. */
export * from './byte-budget.js'
export * from './for-each-limit.js'
export * from './format.js'
export * from './deadline.js'
export * from './race-signal.js'
export * from './mail-address.js'
export * from './check-abort.js'
export * from './write-file-atomic.js'
