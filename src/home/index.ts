/**
 * A node's home directory on its own disk: where it is, the paths of what it keeps (the repository's
 * local config, the key copy, the register, the lock file), and the home's lock (one writer per home).
 */
export * from './home.js'
